using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Polls;
using Chat.Hub.Infrastructure;
using Chat.Hub.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Polls;

/// <summary>Polls over the real hub and HTTP: votes and live results, closing on time and early, anonymity, quizzes.</summary>
public sealed class PollTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static ConcurrentQueue<PollUpdateDto> PollUpdates(HubClient client)
    {
        var updates = new ConcurrentQueue<PollUpdateDto>();
        client.Connection.On<PollUpdateDto>("PollUpdated", updates.Enqueue);
        return updates;
    }

    private static CreatePollRequest Poll(Guid chatId, string question, string[] options, bool multiple = false, bool anonymous = false,
        bool quiz = false, int? correct = null, DateTimeOffset? closesAt = null) =>
        new(chatId, Guid.NewGuid(), question, options, multiple, anonymous, quiz, correct, closesAt);

    private static int[] Counts(PollDto poll) => poll.Options.Select(o => o.Votes).ToArray();

    /// <summary>
    /// A poll in the school channel: its readers vote and see the counts and their own choice, but not who else voted —
    /// a channel's readers are not shown to each other (nor do 2000 ids travel in every push).
    /// </summary>
    [Fact]
    public async Task PollInAChannel_ReadersSeeCountsAndTheirOwnChoice_NotWhoElseVoted()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var otherMother = await room.School.AddParentAsync("Мама Коли", room.Kolya.AccountId);
        await using var adminHub = await HubClient.ConnectAsync(app, room.School.Admin);
        await using var motherHub = await HubClient.ConnectAsync(app, room.Mother);
        await using var otherHub = await HubClient.ConnectAsync(app, otherMother);
        var updates = PollUpdates(otherHub);
        var channel = (await adminHub.ChatsAsync(room.School.Id)).Single(c => c.Title == "Общешкольный канал");
        var created = await adminHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(channel.Id, "Нужна ли продлёнка по пятницам?", ["Да", "Нет"]));

        var mine = await motherHub.Connection.InvokeAsync<PollDto>("Vote", channel.Id, created.Seq, new[] { 0 });
        Assert.Equal([0], mine.MyOptionIds!);
        Assert.Equal([1, 0], Counts(mine));
        Assert.All(mine.Options, o => Assert.Null(o.Voters));
        var other = await otherHub.Connection.InvokeAsync<PollDto>("Vote", channel.Id, created.Seq, new[] { 0 });
        Assert.Equal([2, 0], Counts(other));
        Assert.All(other.Options, o => Assert.Null(o.Voters));
        await HubClient.EventuallyAsync(() => updates.Any(u => u.Seq == created.Seq && Counts(u.Poll).SequenceEqual([2, 0])), "2:0 pushed");
        Assert.All(updates, u => Assert.All(u.Poll.Options, o => Assert.Null(o.Voters)));
        var history = await otherHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", channel.Id, null, null);
        Assert.All(history.Single(m => m.Seq == created.Seq).Poll!.Options, o => Assert.Null(o.Voters));
    }

    /// <summary>
    /// Reactions in the school channel: its readers see the counts and their own, never who else reacted — in the push,
    /// the history, the catch-up, the chat list and search; its writers (the admin) see the names.
    /// </summary>
    [Fact]
    public async Task ReactionsInAChannel_ReadersSeeCountsAndTheirOwn_NotWhoElseReacted_WritersSeeAll()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var otherMother = await room.School.AddParentAsync("Мама Коли", room.Kolya.AccountId);
        await using var adminHub = await HubClient.ConnectAsync(app, room.School.Admin);
        await using var motherHub = await HubClient.ConnectAsync(app, room.Mother);
        await using var otherHub = await HubClient.ConnectAsync(app, otherMother);
        var channel = (await adminHub.ChatsAsync(room.School.Id)).Single(c => c.Title == "Общешкольный канал");
        var post = await adminHub.SendAsync(channel.Id, "Субботник в эту субботу");
        await using var motherTablet = await HubClient.ConnectAsync(app, room.Mother);
        var tabletMine = new ConcurrentQueue<MessageDto>();
        var otherMine = new ConcurrentQueue<MessageDto>();
        motherTablet.Connection.On<MessageDto>("MyReactions", tabletMine.Enqueue);
        otherHub.Connection.On<MessageDto>("MyReactions", otherMine.Enqueue);

        var mine = await motherHub.Connection.InvokeAsync<MessageDto>("React", channel.Id, post.Seq, "👍", true);
        Assert.Equal([room.Mother.AccountId], Assert.Single(mine.Reactions).By);
        var others = await otherHub.Connection.InvokeAsync<MessageDto>("React", channel.Id, post.Seq, "👍", true);
        Assert.Equal(2, Assert.Single(others.Reactions).Count);
        Assert.Equal([otherMother.AccountId], others.Reactions[0].By);

        // The push to the channel names nobody.
        await HubClient.EventuallyAsync(() => motherHub.Changes.Any(e => e.Seq > post.Seq && e.Message.Reactions.Sum(r => r.Count) == 2), "the second reaction pushed");
        Assert.All(motherHub.Changes.SelectMany(e => e.Message.Reactions), r => Assert.Empty(r.By));

        // Her other device is told which reactions are hers (the push could not say it); the other reader is told only
        // of her own.
        await HubClient.EventuallyAsync(() => !tabletMine.IsEmpty && !otherMine.IsEmpty, "each reader's own reactions");
        Assert.Equal([room.Mother.AccountId], Assert.Single(Assert.Single(tabletMine).Reactions).By);
        Assert.Equal([otherMother.AccountId], Assert.Single(Assert.Single(otherMine).Reactions).By);
        var taken = await motherHub.Connection.InvokeAsync<MessageDto>("React", channel.Id, post.Seq, "👍", false);
        Assert.Empty(Assert.Single(taken.Reactions).By);
        await HubClient.EventuallyAsync(() => tabletMine.Count == 2, "her taking it back, on the tablet");
        var after = tabletMine.Last();
        Assert.Equal(1, Assert.Single(after.Reactions).Count);
        Assert.Empty(after.Reactions[0].By);
        Assert.Single(otherMine);

        await motherHub.Connection.InvokeAsync<MessageDto>("React", channel.Id, post.Seq, "👍", true);

        // Read again, each reader is named alone; the admin sees both.
        ReactionDto Of(IEnumerable<MessageDto> list) => Assert.Single(list.Last(m => m.Seq == post.Seq).Reactions);
        Assert.Equal([room.Mother.AccountId], Of(await motherHub.HistoryAsync(channel.Id)).By);
        Assert.Equal([room.Mother.AccountId], Of((await motherHub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", channel.Id, 0L, 100)).Events.Select(e => e.Message)).By);
        Assert.Equal([room.Mother.AccountId], Of((await motherHub.Connection.InvokeAsync<SearchPageDto>("SearchMessagesPage", new SearchRequest("Субботник", room.School.Id))).Hits.Select(h => h.Message)).By);
        Assert.Empty(Assert.Single((await motherHub.ChatsAsync(room.School.Id)).Single(c => c.Id == channel.Id).LastMessage!.Reactions).By);
        Assert.Equal(new[] { room.Mother.AccountId, otherMother.AccountId }.Order(), Of(await adminHub.HistoryAsync(channel.Id)).By.Order());
    }

    [Fact]
    public async Task Vote_ReVoteAndRetract_ResultsUpdateLiveForTheWholeChat()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        await using var mashaHub = await HubClient.ConnectAsync(app, room.Masha);
        var teacherUpdates = PollUpdates(teacherHub);

        var created = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll",
            Poll(room.ChatId, "Когда писать контрольную?", ["В понедельник", "Во вторник", "В среду"]));
        Assert.Equal("poll", created.Kind);
        Assert.Equal("Когда писать контрольную?", created.Text);
        Assert.Equal(["В понедельник", "Во вторник", "В среду"], created.Poll!.Options.Select(o => o.Text));
        Assert.Equal([0, 0, 0], Counts(created.Poll));

        // The poll is a message: every member gets it, with its options.
        await HubClient.EventuallyAsync(() => petyaHub.ReceivedIn(room.ChatId).Any(m => m.Kind == "poll"), "the poll");
        Assert.Equal(3, petyaHub.ReceivedIn(room.ChatId).Single().Poll!.Options.Count);

        var petya = await petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 0 });
        Assert.Equal([0], petya.MyOptionIds!);
        Assert.Equal([1, 0, 0], Counts(petya));
        Assert.Equal([room.Petya.AccountId], petya.Options[0].Voters!);

        await mashaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 1 });
        var changed = await mashaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 0 });
        Assert.Equal([2, 0, 0], Counts(changed));
        Assert.Equal(2, changed.TotalVoters);
        Assert.Equal(new[] { room.Petya.AccountId, room.Masha.AccountId }.Order(), changed.Options[0].Voters!.Order());

        // Everyone in the chat sees the results change, without asking.
        await HubClient.EventuallyAsync(() => teacherUpdates.Any(u => u.Seq == created.Seq && Counts(u.Poll).SequenceEqual([2, 0, 0])), "2:0:0 pushed");

        var retracted = await petyaHub.Connection.InvokeAsync<PollDto>("RetractVote", room.ChatId, created.Seq);
        Assert.Empty(retracted.MyOptionIds!);
        Assert.Equal([1, 0, 0], Counts(retracted));
        await HubClient.EventuallyAsync(() => teacherUpdates.LastOrDefault()?.Poll is { } p && Counts(p).SequenceEqual([1, 0, 0]), "1:0:0 pushed");

        // History carries the poll with its current results.
        var history = await petyaHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, null);
        Assert.Equal([1, 0, 0], Counts(history.Single(m => m.Seq == created.Seq).Poll!));
        Assert.Equal([room.Masha.AccountId], history.Single().Poll!.Options[0].Voters!);

        // One choice only, and only options that exist.
        var two = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 0, 1 }));
        Assert.Contains("validation_failed:", two.Message);
        var missing = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 5 }));
        Assert.Contains("validation_failed:", missing.Message);

        // The same over HTTP.
        var overHttp = await (await room.Petya.Http.PutAsJsonAsync($"/api/chats/{room.ChatId}/polls/{created.Seq}/vote", new { optionIds = new[] { 2 } }))
            .ReadAsync<PollDto>();
        Assert.Equal([1, 0, 1], Counts(overHttp));
    }

    [Fact]
    public async Task Poll_OutsidersOfTheChat_GetChatNotFoundEverywhere()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await using var kolyaHub = await HubClient.ConnectAsync(app, room.Kolya);
        await using var motherHub = await HubClient.ConnectAsync(app, room.Mother);
        var created = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(room.ChatId, "Экскурсия в музей?", ["Да", "Нет"]));

        foreach (var outsider in new[] { kolyaHub, motherHub })
        {
            foreach (var call in new Func<Task>[]
            {
                () => outsider.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 0 }),
                () => outsider.Connection.InvokeAsync<PollDto>("RetractVote", room.ChatId, created.Seq),
                () => outsider.Connection.InvokeAsync<PollDto>("GetPoll", room.ChatId, created.Seq),
                () => outsider.Connection.InvokeAsync<PollDto>("ClosePoll", room.ChatId, created.Seq),
                () => outsider.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(room.ChatId, "Чужой опрос", ["А", "Б"])),
            })
            {
                var refused = await Assert.ThrowsAsync<HubException>(call);
                Assert.Contains("chat_not_found:", refused.Message);
            }
        }

        await (await room.Kolya.Http.GetAsync($"/api/chats/{room.ChatId}/polls/{created.Seq}")).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
        await (await room.Kolya.Http.PutAsJsonAsync($"/api/chats/{room.ChatId}/polls/{created.Seq}/vote", new { optionIds = new[] { 0 } }))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
        await (await room.Kolya.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/polls/{created.Seq}/close", new { }))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");

        // Nothing was counted.
        var poll = await teacherHub.Connection.InvokeAsync<PollDto>("GetPoll", room.ChatId, created.Seq);
        Assert.Equal(0, poll.TotalVoters);
        Assert.Null(poll.ClosedAt);

        // A member asking for a message that is not a poll gets "poll not found".
        var text = await teacherHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "Просто текст", null, null));
        var notPoll = await Assert.ThrowsAsync<HubException>(() => teacherHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, text.Seq, new[] { 0 }));
        Assert.Contains("poll_not_found:", notPoll.Message);
    }

    [Fact]
    public async Task Poll_WithClosingTime_ClosesByItself_PushesTheCloseAndRefusesVotes()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        var petyaUpdates = PollUpdates(petyaHub);
        var created = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll",
            Poll(room.ChatId, "Идём в поход?", ["Да", "Нет"], closesAt: DateTimeOffset.UtcNow.AddSeconds(2)));
        Assert.NotNull(created.Poll!.ClosesAt);
        await petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 1 });

        // The close arrives as a change in the chat's sequence, with the final results, and as a poll update.
        await HubClient.EventuallyAsync(() => petyaHub.Changes.Any(c => c.Type == "poll_closed" && c.Message.Seq == created.Seq), "poll_closed", 20_000);
        var closed = petyaHub.Changes.Single(c => c.Type == "poll_closed");
        Assert.NotNull(closed.Message.Poll!.ClosedAt);
        Assert.Equal([0, 1], Counts(closed.Message.Poll));
        await HubClient.EventuallyAsync(() => petyaUpdates.Any(u => u.Seq == created.Seq && u.Poll.ClosedAt is not null), "PollUpdated with the close");

        var late = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 0 }));
        Assert.Contains("poll_closed:", late.Message);
        var lateRetract = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<PollDto>("RetractVote", room.ChatId, created.Seq));
        Assert.Contains("poll_closed:", lateRetract.Message);

        // Catch-up returns the close too, in its place in the sequence.
        var updates = await petyaHub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", room.ChatId, created.Seq, null);
        Assert.Equal(closed.Seq, Assert.Single(updates.Events, e => e.Type == "poll_closed").Seq);
    }

    [Fact]
    public async Task PollsDue_TwoNodesRunTheCloser_EachPollClosesExactlyOnce()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);

        // A second node on the same database: both run the closer and race for the same polls.
        await using var secondNode = new SameDatabaseNode(app.ConnectionString);
        _ = secondNode.Server;

        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var closesAt = DateTimeOffset.UtcNow.AddSeconds(2);
        var polls = new List<MessageDto>();
        for (var i = 1; i <= 5; i++)
        {
            polls.Add(await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(room.ChatId, $"Вопрос {i}", ["Да", "Нет"], closesAt: closesAt)));
        }

        // Pushes of the other node do not reach this one's clients without Redis; catch-up by seq sees every close.
        var until = DateTime.UtcNow.AddSeconds(20);
        var updates = await teacherHub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", room.ChatId, 0L, null);
        while (updates.Events.Count(e => e.Type == "poll_closed") < polls.Count)
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting for every poll to close");
            await Task.Delay(200);
            updates = await teacherHub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", room.ChatId, 0L, null);
        }

        // A few more rounds of both closers: still one close per poll, and a gap-free sequence.
        await Task.Delay(2500);
        updates = await teacherHub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", room.ChatId, 0L, null);
        foreach (var poll in polls)
        {
            Assert.Single(updates.Events, e => e.Type == "poll_closed" && e.Message.Seq == poll.Seq);
        }

        Assert.Equal(Enumerable.Range(1, updates.Events.Count).Select(i => (long)i), updates.Events.Select(e => e.Seq));
    }

    [Fact]
    public async Task ClosePoll_AuthorOrModerator_OthersRefused()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        await using var mashaHub = await HubClient.ConnectAsync(app, room.Masha);

        var byPetya = await petyaHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(room.ChatId, "Во что играем на перемене?", ["Футбол", "Шашки"]));
        var refused = await Assert.ThrowsAsync<HubException>(() => mashaHub.Connection.InvokeAsync<PollDto>("ClosePoll", room.ChatId, byPetya.Seq));
        Assert.Contains("poll_close_not_allowed:", refused.Message);

        var closedByAuthor = await petyaHub.Connection.InvokeAsync<PollDto>("ClosePoll", room.ChatId, byPetya.Seq);
        Assert.NotNull(closedByAuthor.ClosedAt);

        var second = await mashaHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(room.ChatId, "Дежурство", ["Я", "Не я"]));
        var closedByModerator = await teacherHub.Connection.InvokeAsync<PollDto>("ClosePoll", room.ChatId, second.Seq);
        Assert.NotNull(closedByModerator.ClosedAt);

        // Closing again changes nothing: one poll_closed each.
        await teacherHub.Connection.InvokeAsync<PollDto>("ClosePoll", room.ChatId, second.Seq);
        var updates = await teacherHub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", room.ChatId, 0L, null);
        Assert.Equal(2, updates.Events.Count(e => e.Type == "poll_closed"));

        // A poll's question is not edited after people voted for it.
        var edit = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, byPetya.Seq, "Другой вопрос"));
        Assert.Contains("poll_not_editable:", edit.Message);

        // A deleted poll is gone for voting too.
        var third = await mashaHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(room.ChatId, "Удалим?", ["Да", "Нет"]));
        var rule = (await teacherHub.Connection.InvokeAsync<List<Chat.Hub.Features.Moderation.RuleDto>>("GetRules", room.School.Id)).First();
        await teacherHub.Connection.InvokeAsync<MessageDto>("ModerateDelete", room.ChatId, third.Seq, rule.Id);
        var deleted = await Assert.ThrowsAsync<HubException>(() => petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, third.Seq, new[] { 0 }));
        Assert.Contains("poll_not_found:", deleted.Message);
    }

    [Fact]
    public async Task AnonymousPoll_NoApiAndNoTableLinksVotersToOptions()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        await using var mashaHub = await HubClient.ConnectAsync(app, room.Masha);
        var teacherUpdates = PollUpdates(teacherHub);
        var created = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll",
            Poll(room.ChatId, "Нравятся ли вам уроки?", ["Да", "Не очень", "Нет"], multiple: true, anonymous: true));
        Assert.True(created.Poll!.Anonymous);

        var seen = new List<object>();
        seen.Add(await petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 0, 1 }));
        seen.Add(await mashaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 2 }));
        var changed = await mashaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 1 });
        seen.Add(changed);

        // The voter still sees their own choice, and the counts.
        Assert.Equal([1], changed.MyOptionIds!);
        Assert.Equal([1, 2, 0], Counts(changed));
        Assert.Equal(2, changed.TotalVoters);

        await HubClient.EventuallyAsync(() => teacherUpdates.Any(u => Counts(u.Poll).SequenceEqual([1, 2, 0])), "pushed results");
        seen.AddRange(teacherUpdates);
        seen.Add(await teacherHub.Connection.InvokeAsync<PollDto>("GetPoll", room.ChatId, created.Seq));
        seen.Add(await teacherHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, null));
        seen.Add(await teacherHub.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", room.ChatId, 0L, null));
        seen.Add(await room.Teacher.Http.GetFromJsonAsync<PollDto>($"/api/chats/{room.ChatId}/polls/{created.Seq}", ChatJson.Options) ?? throw new InvalidOperationException());
        seen.Add(await room.Teacher.Http.GetFromJsonAsync<List<MessageDto>>($"/api/chats/{room.ChatId}/messages", ChatJson.Options) ?? throw new InvalidOperationException());
        seen.Add(await teacherHub.Connection.InvokeAsync<PollDto>("ClosePoll", room.ChatId, created.Seq));
        seen.AddRange(petyaHub.ReceivedIn(room.ChatId));

        // Nowhere does a pupil's id appear next to the poll: no voters in any answer, push, page or catch-up.
        foreach (var item in seen)
        {
            var json = JsonSerializer.Serialize(item, ChatJson.Options);
            Assert.DoesNotContain(room.Petya.AccountId.ToString(), json, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(room.Masha.AccountId.ToString(), json, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("\"voters\"", json, StringComparison.Ordinal);
        }

        // And the table holds no account id, no time, nothing but keyed hashes for this poll.
        await using var db = new NpgsqlConnection(app.ConnectionString);
        var ballots = (await db.QueryAsync<(Guid? AccountId, DateTime? VotedAt, byte[] VoterKey, string Everything)>(
            "SELECT account_id, voted_at, voter_key, b::text FROM poll_ballots b WHERE chat_id = @ChatId AND message_seq = @Seq",
            new { room.ChatId, created.Seq })).ToList();
        Assert.Equal(2, ballots.Count);
        Assert.All(ballots, b =>
        {
            Assert.Null(b.AccountId);
            Assert.Null(b.VotedAt);
            Assert.Equal(32, b.VoterKey.Length);
            foreach (var pupil in new[] { room.Petya.AccountId, room.Masha.AccountId })
            {
                Assert.DoesNotContain(pupil.ToString(), b.Everything, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(Convert.ToHexStringLower(pupil.ToByteArray()), b.Everything, StringComparison.Ordinal);
            }
        });
    }

    [Fact]
    public async Task QuizPoll_VoterLearnsWhetherRight_AnswerIsFinal()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        await using var mashaHub = await HubClient.ConnectAsync(app, room.Masha);
        var created = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll",
            Poll(room.ChatId, "Столица России?", ["Санкт-Петербург", "Москва", "Казань"], quiz: true, correct: 1));

        // The author knows the answer; the others see the quiz without it.
        Assert.Equal(1, created.Poll!.CorrectOptionId);
        await HubClient.EventuallyAsync(() => petyaHub.ReceivedIn(room.ChatId).Any(), "the quiz");
        Assert.Null(petyaHub.ReceivedIn(room.ChatId).Single().Poll!.CorrectOptionId);
        Assert.Null((await petyaHub.Connection.InvokeAsync<PollDto>("GetPoll", room.ChatId, created.Seq)).CorrectOptionId);

        var right = await petyaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 1 });
        Assert.True(right.AnsweredCorrectly);
        Assert.Equal(1, right.CorrectOptionId);

        var wrong = await mashaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 0 });
        Assert.False(wrong.AnsweredCorrectly);
        Assert.Equal(1, wrong.CorrectOptionId);

        // Knowing the answer, she cannot change hers.
        var again = await Assert.ThrowsAsync<HubException>(() => mashaHub.Connection.InvokeAsync<PollDto>("Vote", room.ChatId, created.Seq, new[] { 1 }));
        Assert.Contains("quiz_answer_final:", again.Message);
        var retract = await Assert.ThrowsAsync<HubException>(() => mashaHub.Connection.InvokeAsync<PollDto>("RetractVote", room.ChatId, created.Seq));
        Assert.Contains("quiz_answer_final:", retract.Message);

        // The shared view keeps the answer until the quiz closes, then shows it to all.
        var open = (await teacherHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, null)).Single();
        Assert.Null(open.Poll!.CorrectOptionId);
        await teacherHub.Connection.InvokeAsync<PollDto>("ClosePoll", room.ChatId, created.Seq);
        var closed = (await mashaHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, null)).Single();
        Assert.Equal(1, closed.Poll!.CorrectOptionId);
        Assert.Equal([1, 1, 0], Counts(closed.Poll));
    }

    [Fact]
    public async Task CreatePoll_InChannel_OnlyOwnersCreate_MembersVote()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var petyaHub = await HubClient.ConnectAsync(app, petya);
        var channel = (await petyaHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "channel");

        var refused = await Assert.ThrowsAsync<HubException>(() =>
            petyaHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(channel.Id, "Каникулы продлим?", ["Да", "Конечно"])));
        Assert.Contains("chat_read_only:", refused.Message);

        var poll = await adminHub.Connection.InvokeAsync<MessageDto>("CreatePoll", Poll(channel.Id, "Выбираем тему недели", ["Наука", "Спорт", "Искусство"]));
        var voted = await petyaHub.Connection.InvokeAsync<PollDto>("Vote", channel.Id, poll.Seq, new[] { 1 });
        Assert.Equal([0, 1, 0], Counts(voted));
    }

    [Fact]
    public async Task CreatePoll_InvalidInput_ValidationFailedWithTheField()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var cases = new (CreatePollRequest Request, string Field)[]
        {
            (Poll(room.ChatId, "Один вариант?", ["Только этот"]), "options"),
            (Poll(room.ChatId, "Много вариантов?", Enumerable.Range(1, 13).Select(i => $"Вариант {i}").ToArray()), "options"),
            (Poll(room.ChatId, "Повторы?", ["Да", "да"]), "options"),
            (Poll(room.ChatId, "", ["Да", "Нет"]), "question"),
            (Poll(room.ChatId, "Викторина с выбором нескольких?", ["А", "Б"], multiple: true, quiz: true, correct: 0), "multiple"),
            (Poll(room.ChatId, "Викторина без ответа?", ["А", "Б"], quiz: true), "correctOptionId"),
            (Poll(room.ChatId, "В прошлом?", ["Да", "Нет"], closesAt: DateTimeOffset.UtcNow.AddMinutes(-1)), "closesAt"),
        };
        foreach (var (request, field) in cases)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll", request));
            Assert.Contains("validation_failed:", refused.Message);
            Assert.Contains($"({field})", refused.Message);
        }

        // Nothing was stored.
        Assert.Empty(await teacherHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, null));

        // A resend with the same client id returns the stored poll, not a second one.
        var request1 = Poll(room.ChatId, "Повторная отправка", ["Да", "Нет"]);
        var first = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll", request1);
        var again = await teacherHub.Connection.InvokeAsync<MessageDto>("CreatePoll", request1);
        Assert.Equal(first.Seq, again.Seq);
        Assert.Single(await teacherHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, null));
    }

    /// <summary>Another node (the same app, in process) on the same database: its background services run as a real node's do.</summary>
    private sealed class SameDatabaseNode : ChatApp
    {
        public SameDatabaseNode(string connectionString) => UseDatabase(connectionString);
    }
}
