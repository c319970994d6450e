using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Dapper;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Edits, deletions and reactions: who may make them, that every member sees them live, and that catch-up returns the final state.</summary>
public sealed class MessageChangeTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task EditDeleteReact_EveryConnectedMemberGetsEachChange_CatchUpReturnsFinalState()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var everyone = new[] { petya, masha, teacher };

        var homework = await petya.SendAsync(room.ChatId, "Домашка: упражнение 5");
        var rude = await petya.SendAsync(room.ChatId, "Что-то грубое");
        var mistake = await petya.SendAsync(room.ChatId, "Ой, не туда");
        var seenBefore = mistake.Seq;

        // Petya fixes his homework message: everyone sees the new text, marked edited.
        var edited = await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, homework.Seq, "Домашка: упражнение 7");
        Assert.Equal("Домашка: упражнение 7", edited.Text);
        Assert.NotNull(edited.EditedAt);

        // Masha reacts to it; the teacher removes the rude message; Petya deletes his own slip.
        await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, homework.Seq, "👍", true);
        var rule = (await teacher.Connection.InvokeAsync<List<Chat.Hub.Features.Moderation.RuleDto>>("GetRules", room.School.Id)).First();
        var removed = await teacher.Connection.InvokeAsync<MessageDto>("ModerateDelete", room.ChatId, rude.Seq, rule.Id);
        Assert.True(removed.Deleted);
        Assert.Equal("", removed.Text);
        await petya.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, mistake.Seq);

        foreach (var hub in everyone)
        {
            await HubClient.EventuallyAsync(() => hub.Changes.Count(c => c.ChatId == room.ChatId) >= 4, "four changes");
            var changes = hub.Changes.Where(c => c.ChatId == room.ChatId).OrderBy(c => c.Seq).ToList();
            Assert.Equal(["edited", "reactions", "deleted", "deleted"], changes.Select(c => c.Type));
            Assert.Equal([homework.Seq, homework.Seq, rude.Seq, mistake.Seq], changes.Select(c => c.Message.Seq));
            Assert.Equal("Домашка: упражнение 7", changes[0].Message.Text);
            var like = Assert.Single(changes[1].Message.Reactions);
            Assert.Equal(("👍", 1), (like.Emoji, like.Count));
            Assert.Equal([room.Masha.AccountId], like.By);

            // A deletion reaches members as a tombstone: the seq stays, the text does not.
            Assert.All(changes.Skip(2), c => Assert.True(c.Message.Deleted));
            Assert.All(changes.Skip(2), c => Assert.Equal("", c.Message.Text));

            // Changes take their own places in the chat's sequence, after the messages.
            Assert.Equal(Enumerable.Range((int)seenBefore + 1, 4).Select(i => (long)i), changes.Select(c => c.Seq));
        }

        // A member who saw only the three messages catches up and ends with the final state of each.
        var updates = await masha.UpdatesAsync(room.ChatId, seenBefore);
        Assert.Equal(["edited", "reactions", "deleted", "deleted"], updates.Events.Select(e => e.Type));
        Assert.Equal(updates.Events[^1].Seq, updates.LastSeq);
        var fromStart = await masha.UpdatesAsync(room.ChatId, 0);
        var finalHomework = fromStart.Events.Last(e => e.Message.Seq == homework.Seq).Message;
        Assert.Equal("Домашка: упражнение 7", finalHomework.Text);
        Assert.Single(finalHomework.Reactions);
        Assert.Equal(updates.Events[1].Seq, finalHomework.Version);
        Assert.All(fromStart.Events.Where(e => e.Message.Seq == rude.Seq), e => Assert.Equal("", e.Message.Text));

        // History shows the same: the edited text, and tombstones in place of the deleted messages.
        var history = await masha.HistoryAsync(room.ChatId);
        Assert.Equal([homework.Seq, rude.Seq, mistake.Seq], history.Select(m => m.Seq));
        Assert.Equal("Домашка: упражнение 7", history[0].Text);
        Assert.Equal([false, true, true], history.Select(m => m.Deleted));
        Assert.DoesNotContain(history, m => m.Text.Contains("грубое", StringComparison.Ordinal));
    }

    /// <summary>
    /// An edit stored but never pushed (the node stopped after the commit, or the read for the push failed): the author's
    /// retry finds nothing left to change, and tells the chat all the same (ChatAdvanced up to the edit), so an open page
    /// catches the edit up instead of showing the old text until its next reconnect.
    /// </summary>
    [Fact]
    public async Task EditStoredButNeverPushed_TheRetryNudgesTheChat_TheReaderCatchesItUp()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var advanced = new TaskCompletionSource<(Guid, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        masha.Connection.On<Guid, long>("ChatAdvanced", (chat, seq) => advanced.TrySetResult((chat, seq)));
        var message = await petya.SendAsync(room.ChatId, "Контрольная в среду");

        var store = app.Services.GetRequiredService<Chat.Storage.Messages.MessageStore>();
        var changeSeq = await app.Services.GetRequiredService<Chat.Storage.Infrastructure.ChatDatabase>().InTransactionAsync(async s =>
        {
            await store.EditAsync(s, room.ChatId, message.Seq, "Контрольная в среду", "Контрольная в четверг", null, CancellationToken.None);
            return await store.AppendChangeAsync(s, room.ChatId, message.Seq, "edited", room.Petya.AccountId, CancellationToken.None);
        }, CancellationToken.None);
        await Task.Delay(200);
        Assert.Empty(masha.Changes);

        var retried = await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Контрольная в четверг");

        Assert.Equal(changeSeq, retried.Version);
        Assert.Equal((room.ChatId, changeSeq), await advanced.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var updates = await masha.UpdatesAsync(room.ChatId, message.Seq);
        Assert.Equal("Контрольная в четверг", Assert.Single(updates.Events, e => e.Type == "edited").Message.Text);
    }

    [Fact]
    public async Task EditMessage_ByAnyoneButTheAuthor_NotMessageAuthor()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var message = await petya.SendAsync(room.ChatId, "Завтра контрольная");

        await masha.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Завтра выходной").ExpectHubErrorAsync("not_message_author");

        // Moderators delete, but nobody puts words in a pupil's mouth: not even the class teacher edits.
        await teacher.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Завтра выходной").ExpectHubErrorAsync("not_message_author");

        var stored = Assert.Single(await masha.HistoryAsync(room.ChatId));
        Assert.Equal("Завтра контрольная", stored.Text);
        Assert.Null(stored.EditedAt);
        Assert.Empty(masha.Changes);
    }

    /// <summary>
    /// Petya deletes his message and closes the app at once: the deletion is committed, so his classmates still get it,
    /// although the read that builds the push runs after his connection (and its cancellation) is gone.
    /// </summary>
    [Fact]
    public async Task DeleteMessage_AuthorsConnectionClosesRightAfterTheCommit_OthersStillGetTheDeletion()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var message = await petya.SendAsync(room.ChatId, "Ой, не в тот чат");

        // The read after the commit (it reads the message's reactions) waits for a lock held here.
        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("LOCK TABLE message_reactions IN ACCESS EXCLUSIVE MODE", transaction: hold);
        _ = petya.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, message.Seq);
        await LockWaiters.WaitAsync(app.ConnectionString, 1);
        await using (var check = new NpgsqlConnection(app.ConnectionString))
        {
            Assert.True(await check.ExecuteScalarAsync<bool>(
                "SELECT deleted_at IS NOT NULL FROM messages WHERE chat_id = @chatId AND seq = @seq", new { chatId = room.ChatId, seq = message.Seq }));
        }

        await petya.DisposeAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // the server sees the connection close and cancels its calls
        await hold.CommitAsync();

        await HubClient.EventuallyAsync(() => masha.Changes.Any(c => c.Type == "deleted" && c.Message.Seq == message.Seq), "the deletion reaches Masha");
    }

    [Fact]
    public async Task DeleteMessage_PupilDeletesClassmatesMessage_NotMessageAuthor_ClassTeacherMay()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var message = await petya.SendAsync(room.ChatId, "Маша списывает!");

        await masha.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, message.Seq).ExpectHubErrorAsync("not_message_author");
        Assert.False(Assert.Single(await petya.HistoryAsync(room.ChatId)).Deleted);

        // A moderator deletes someone else's message only citing a rule.
        await teacher.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, message.Seq).ExpectHubErrorAsync("not_message_author");
        var rule = (await teacher.Connection.InvokeAsync<List<Chat.Hub.Features.Moderation.RuleDto>>("GetRules", room.School.Id)).First();
        var deleted = await teacher.Connection.InvokeAsync<MessageDto>("ModerateDelete", room.ChatId, message.Seq, rule.Id);
        Assert.True(deleted.Deleted);
        await HubClient.EventuallyAsync(() => petya.Changes.Any(c => c.Type == "deleted"), "the deletion");

        // Deleting again changes nothing and adds nothing to the sequence; a deleted message cannot be edited or reacted to.
        var lastSeq = (await petya.ChatAsync(room.School.Id, room.ChatId)).LastSeq;
        await teacher.Connection.InvokeAsync<MessageDto>("ModerateDelete", room.ChatId, message.Seq, rule.Id);
        Assert.Equal(lastSeq, (await petya.ChatAsync(room.School.Id, room.ChatId)).LastSeq);
        await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Ничего").ExpectHubErrorAsync("message_deleted");
        await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "😮", true).ExpectHubErrorAsync("message_deleted");

        // A message that does not exist is "not found", for edits, deletions and reactions alike.
        await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, 999L, "Ничего").ExpectHubErrorAsync("message_not_found");
        await teacher.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, 999L).ExpectHubErrorAsync("message_not_found");
        await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, 999L, "😮", true).ExpectHubErrorAsync("message_not_found");
    }

    [Fact]
    public async Task GetEditHistory_ModeratorSeesEarlierTexts_MembersAndAuthorRefused()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var message = await petya.SendAsync(room.ChatId, "Первый вариант");
        await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Второй вариант");
        await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Третий вариант");

        // Saving the same text again is not an edit: no new version, no event.
        await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Третий вариант");

        Assert.Equal(["Первый вариант", "Второй вариант"], await teacher.Connection.InvokeAsync<List<string>>("GetEditHistory", room.ChatId, message.Seq));
        await masha.Connection.InvokeAsync<List<string>>("GetEditHistory", room.ChatId, message.Seq).ExpectHubErrorAsync("moderator_only");
        await petya.Connection.InvokeAsync<List<string>>("GetEditHistory", room.ChatId, message.Seq).ExpectHubErrorAsync("moderator_only");
        Assert.Equal(2, (await masha.AllUpdatesAsync(room.ChatId, message.Seq)).Count(e => e.Type == "edited"));
    }

    [Fact]
    public async Task React_AddRemoveAndLimits_EveryChangeReachesMembers()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var message = await petya.SendAsync(room.ChatId, "Ура, каникулы!");

        await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "🎉", true);
        await petya.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "🎉", true);
        await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "❤️", true);
        await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "👍🏽", true);

        // The same reaction twice is one reaction; a fourth kind from one person is refused.
        var same = await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "🎉", true);
        Assert.Equal(2, same.Reactions.Single(r => r.Emoji == "🎉").Count);
        await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "😂", true).ExpectHubErrorAsync("too_many_reactions");

        var after = await masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, message.Seq, "🎉", false);
        var party = after.Reactions.Single(r => r.Emoji == "🎉");
        Assert.Equal(1, party.Count);
        Assert.Equal([room.Petya.AccountId], party.By);

        // Four additions and one removal: five changes, each pushed to both.
        foreach (var hub in new[] { petya, masha })
        {
            await HubClient.EventuallyAsync(() => hub.Changes.Count >= 5, "five reaction changes");
            var last = hub.Changes.MaxBy(c => c.Seq)!;
            Assert.Equal("reactions", last.Type);
            Assert.Equal(["🎉", "❤️", "👍🏽"], last.Message.Reactions.Select(r => r.Emoji));
        }

        var final = (await petya.HistoryAsync(room.ChatId)).Single();
        Assert.Equal(after.Reactions.Select(r => (r.Emoji, r.Count)), final.Reactions.Select(r => (r.Emoji, r.Count)));
    }
}
