using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Search understands Russian word forms and looks only into the searcher's own chats.</summary>
public sealed class SearchTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static Task<List<MessageDto>> SearchAsync(HubClient hub, string query, Guid? schoolId = null) =>
        hub.Connection.InvokeAsync<List<MessageDto>>("SearchMessages", query, schoolId);

    [Fact]
    public async Task SearchMessages_AnotherWordForm_FindsOnlyInTheSearchersChats()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var teacherUser = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        var kolyaUser = await school.AddStudentAsync("Коля", class5B.Id);
        await using var teacher = await HubClient.ConnectAsync(app, teacherUser);
        await using var petya = await HubClient.ConnectAsync(app, petyaUser);
        await using var kolya = await HubClient.ConnectAsync(app, kolyaUser);
        var chat5A = await petya.ClassChatAsync(school.Id, class5A.Id);
        var chat5B = await kolya.ClassChatAsync(school.Id, class5B.Id);

        var test = await teacher.SendAsync(chat5A.Id, "Контрольная по математике в пятницу");
        await teacher.SendAsync(chat5A.Id, "Не забудьте сменную обувь");
        var kolyas = await kolya.SendAsync(chat5B.Id, "У нас тоже математика, но в четверг");

        // "математика" finds "математике": the same word in another case.
        var found = await SearchAsync(petya, "математика");
        var hit = Assert.Single(found);
        Assert.Equal((chat5A.Id, test.Seq, "Контрольная по математике в пятницу"), (hit.ChatId, hit.Seq, hit.Text));
        Assert.Equal(test.Seq, Assert.Single(await SearchAsync(petya, "контрольной пятница", school.Id)).Seq);

        // Kolya of 5Б finds only his own class's message, never 5А's.
        var kolyaFound = Assert.Single(await SearchAsync(kolya, "математику"));
        Assert.Equal((chat5B.Id, kolyas.Seq), (kolyaFound.ChatId, kolyaFound.Seq));
        Assert.Empty(await SearchAsync(kolya, "контрольная"));

        // A deleted message is no longer found; an edited one is found by its new text only.
        await teacher.Connection.InvokeAsync<MessageDto>("EditMessage", chat5A.Id, test.Seq, "Диктант по русскому языку в пятницу");
        Assert.Empty(await SearchAsync(petya, "математика"));
        Assert.Equal(test.Seq, Assert.Single(await SearchAsync(petya, "диктанты")).Seq);
        await teacher.Connection.InvokeAsync<MessageDto>("DeleteMessage", chat5A.Id, test.Seq);
        Assert.Empty(await SearchAsync(petya, "диктант"));
    }

    [Fact]
    public async Task SearchMessages_MemberOfAnotherSchool_FindsNothingThere()
    {
        var schoolA = await new SchoolBuilder(app).CreateAsync("Школа А");
        var classA = await schoolA.CreateClassAsync("5А");
        var pupilA = await schoolA.AddStudentAsync("Петя", classA.Id);
        var schoolB = await new SchoolBuilder(app).CreateAsync("Школа Б");
        var classB = await schoolB.CreateClassAsync("5А");
        var pupilB = await schoolB.AddStudentAsync("Вова", classB.Id);
        await using var a = await HubClient.ConnectAsync(app, pupilA);
        await using var b = await HubClient.ConnectAsync(app, pupilB);
        await a.SendAsync((await a.ClassChatAsync(schoolA.Id, classA.Id)).Id, "Экскурсия в планетарий в субботу");
        var own = await b.SendAsync((await b.ClassChatAsync(schoolB.Id, classB.Id)).Id, "Мы тоже хотим в планетарий");

        Assert.Equal(own.Seq, Assert.Single(await SearchAsync(b, "планетарий")).Seq);
        Assert.Empty(await SearchAsync(b, "экскурсия"));
        Assert.Empty(await SearchAsync(b, "экскурсия", schoolA.Id));
        Assert.Empty(await SearchAsync(b, "планетарий", schoolA.Id));
    }

    private static Task<SearchPageDto> PageAsync(HubClient hub, SearchRequest request) =>
        hub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", request);

    /// <summary>Every page of a search, following <c>Next</c> until it is null.</summary>
    private static async Task<List<SearchHitDto>> AllPagesAsync(HubClient hub, SearchRequest request)
    {
        var all = new List<SearchHitDto>();
        for (var page = await PageAsync(hub, request); ; page = await PageAsync(hub, request with { Before = page.Next }))
        {
            Assert.True(page.Hits.Count <= (request.Limit ?? 50));
            all.AddRange(page.Hits);
            if (page.Next is null)
            {
                return all;
            }

            Assert.Equal(request.Limit, page.Hits.Count);
            Assert.True(all.Count < 100, "the paging does not end");
        }
    }

    [Fact]
    public async Task SearchMessagesPage_OneChat_OnlyItsHits_PagedWithoutRepeats_MatchedWords()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacherUser = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        await using var teacher = await HubClient.ConnectAsync(app, teacherUser);
        await using var petya = await HubClient.ConnectAsync(app, petyaUser);
        var classChat = await petya.ClassChatAsync(school.Id, class5A.Id);
        var group = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Кружок", class5A.Id, null, [petyaUser.AccountId]));
        var inClass = new List<long>();
        for (var i = 1; i <= 7; i++)
        {
            inClass.Add((await teacher.SendAsync(classChat.Id, $"Урок {i}: не забудьте тетради")).Seq);
        }

        var tagged = await teacher.SendAsync(classChat.Id, "Про <b>УРОКИ</b> и урокам");
        inClass.Add(tagged.Seq);
        await teacher.SendAsync(classChat.Id, "Сменная обувь");
        await teacher.SendAsync(group.Id, "Урок в кружке переносится");
        await teacher.SendAsync(group.Id, "После уроков собираемся");

        // In one chat, three at a time: all eight of its hits, newest first, none twice, none from the group chat.
        var scoped = await AllPagesAsync(petya, new SearchRequest("урок", ChatId: classChat.Id, Limit: 3));
        Assert.All(scoped, h => Assert.Equal(classChat.Id, h.Message.ChatId));
        Assert.Equal(Enumerable.Reverse(inClass), scoped.Select(h => h.Message.Seq));

        // The matched words come as plain lower-case text, whatever the form and the markup around them.
        Assert.Equal(["урок"], scoped[^1].Words);
        var taggedHit = Assert.Single(scoped, h => h.Message.Seq == tagged.Seq);
        Assert.Equal("Про <b>УРОКИ</b> и урокам", taggedHit.Message.Text);
        Assert.Equal(["урокам", "уроки"], taggedHit.Words.Order(StringComparer.Ordinal));

        // All my chats, four at a time: the ten hits of both chats, none twice; the last page says there is no more.
        var everywhere = await AllPagesAsync(petya, new SearchRequest("урок", school.Id, Limit: 4));
        Assert.Equal(10, everywhere.Count);
        Assert.Equal(10, everywhere.Select(h => (h.Message.ChatId, h.Message.Seq)).Distinct().Count());
        Assert.Equal(2, everywhere.Count(h => h.Message.ChatId == group.Id));
        Assert.Null((await PageAsync(petya, new SearchRequest("урок", school.Id))).Next);

        // The old method still answers as before.
        Assert.Equal(10, (await SearchAsync(petya, "урок", school.Id)).Count);
    }

    [Fact]
    public async Task SearchMessagesPage_OneChat_OutsidersAndOtherSchool_ChatNotFound_BadQueries_Refused()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        var kolyaUser = await school.AddStudentAsync("Коля", class5B.Id);
        var other = await new SchoolBuilder(app).CreateAsync("Школа Б");
        var classB = await other.CreateClassAsync("5А");
        var vovaUser = await other.AddStudentAsync("Вова", classB.Id);
        await using var petya = await HubClient.ConnectAsync(app, petyaUser);
        await using var kolya = await HubClient.ConnectAsync(app, kolyaUser);
        await using var vova = await HubClient.ConnectAsync(app, vovaUser);
        var classChat = await petya.ClassChatAsync(school.Id, class5A.Id);
        await petya.SendAsync(classChat.Id, "Контрольная по математике");

        // Not a member (of the same school or of another one), or no such chat: "not found", even with a bad query.
        foreach (var outsider in new[] { kolya, vova })
        {
            await PageAsync(outsider, new SearchRequest("математика", ChatId: classChat.Id)).ExpectHubErrorAsync("chat_not_found");
            await PageAsync(outsider, new SearchRequest("я", ChatId: classChat.Id)).ExpectHubErrorAsync("chat_not_found");
        }

        await PageAsync(petya, new SearchRequest("математика", ChatId: Guid.NewGuid())).ExpectHubErrorAsync("chat_not_found");
        Assert.Empty((await PageAsync(kolya, new SearchRequest("математика", school.Id))).Hits);

        // A member's bad queries: too short, too long, control characters, none.
        foreach (var bad in new[] { "я", " я ", new string('а', 201), "до\u0000", null })
        {
            await PageAsync(petya, new SearchRequest(bad, ChatId: classChat.Id)).ExpectHubErrorAsync("search_query_invalid");
            await PageAsync(petya, new SearchRequest(bad, school.Id)).ExpectHubErrorAsync("search_query_invalid");
        }

        Assert.Single((await PageAsync(petya, new SearchRequest("математика", ChatId: classChat.Id))).Hits);
    }

    [Fact]
    public async Task Search_SchoolSuspended_FindsNothingOfIt_UntilResumed()
    {
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        await using var petya = await HubClient.ConnectAsync(app, petyaUser);
        var classChat = await petya.ClassChatAsync(school.Id, class5A.Id);
        var sent = await petya.SendAsync(classChat.Id, "Экскурсия в планетарий в субботу");
        Assert.Equal(sent.Seq, Assert.Single(await SearchAsync(petya, "планетарий")).Seq);

        // Suspended, the school's chats are not read (history says "not found"), and search does not read them either:
        // not the old method, not the paged one, not over HTTP.
        await (await op.Http.PostAsync($"/api/platform/schools/{school.Id}/suspend", null)).EnsureOkAsync();
        await petya.HistoryAsync(classChat.Id).ExpectHubErrorAsync("chat_not_found");
        Assert.Empty(await SearchAsync(petya, "планетарий"));
        Assert.Empty(await SearchAsync(petya, "планетарий", school.Id));
        Assert.Empty((await PageAsync(petya, new SearchRequest("планетарий"))).Hits);
        Assert.Empty((await PageAsync(petya, new SearchRequest("планетарий", school.Id))).Hits);
        await PageAsync(petya, new SearchRequest("планетарий", ChatId: classChat.Id)).ExpectHubErrorAsync("chat_not_found");
        Assert.Empty(await (await petyaUser.Http.GetAsync("/api/search?q=планетарий")).ReadAsync<List<MessageDto>>());

        // Resumed, the message is found again.
        await (await op.Http.PostAsync($"/api/platform/schools/{school.Id}/resume", null)).EnsureOkAsync();
        Assert.Equal(sent.Seq, Assert.Single(await SearchAsync(petya, "планетарий")).Seq);
        Assert.Single(await (await petyaUser.Http.GetAsync("/api/search?q=планетарий")).ReadAsync<List<MessageDto>>());
    }
}
