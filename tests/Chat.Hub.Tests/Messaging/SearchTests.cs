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
}
