using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>
/// A message pinned above the chat (the homework, the meeting's time): one per chat, by its moderators (both people in a
/// direct chat), live to every member, caught up like an edit and read with the chat.
/// </summary>
public sealed class PinnedMessageTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task ClassTeacherPins_EveryoneSeesIt_PinningAnotherUnpinsTheFirst_CatchUpAndTheChatAgree()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        var homework = await teacher.SendAsync(room.ChatId, "Домашнее задание: №12–15");
        var meeting = await teacher.SendAsync(room.ChatId, "Собрание в четверг в 18:00");
        var seenBefore = meeting.Seq;

        var pinned = await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, homework.Seq, true);
        Assert.Equal(homework.Seq, pinned.Seq);
        await HubClient.EventuallyAsync(() => petya.Changes.Any(c => c.Type == "pinned"), "the pin");
        Assert.Equal(homework.Seq, (await DetailsAsync(petya, room.ChatId)).PinnedMessage?.Seq);

        // Pinning what is pinned changes nothing; pinning another unpins the first, in that order.
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, homework.Seq, true);
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, meeting.Seq, true);
        await HubClient.EventuallyAsync(() => petya.Changes.Count(c => c.ChatId == room.ChatId) >= 3, "three changes");
        var changes = petya.Changes.Where(c => c.ChatId == room.ChatId).OrderBy(c => c.Seq).ToList();
        Assert.Equal(["pinned", "unpinned", "pinned"], changes.Select(c => c.Type));
        Assert.Equal([homework.Seq, homework.Seq, meeting.Seq], changes.Select(c => c.Message.Seq));
        Assert.Equal("Собрание в четверг в 18:00", (await DetailsAsync(petya, room.ChatId)).PinnedMessage?.Text);

        // Masha was offline: she catches up the same three, in the chat's sequence after the messages.
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var updates = await masha.UpdatesAsync(room.ChatId, seenBefore);
        Assert.Equal(["pinned", "unpinned", "pinned"], updates.Events.Select(e => e.Type));
        Assert.Equal(Enumerable.Range((int)seenBefore + 1, 3).Select(i => (long)i), updates.Events.Select(e => e.Seq));

        // Unpinned: none above the chat; unpinning again changes nothing.
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, meeting.Seq, false);
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, meeting.Seq, false);
        await HubClient.EventuallyAsync(() => petya.Changes.Count(c => c.ChatId == room.ChatId) >= 4, "the unpin");
        Assert.Null((await DetailsAsync(masha, room.ChatId)).PinnedMessage);
        Assert.Equal(["pinned", "unpinned", "pinned", "unpinned"], (await masha.UpdatesAsync(room.ChatId, seenBefore)).Events.Select(e => e.Type));
    }

    [Fact]
    public async Task PupilPinsInTheClassChat_PinNotAllowed_ADeletedMessageIsNotPinned_APinnedOneDeletedIsGone()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        var mine = await petya.SendAsync(room.ChatId, "Закрепите мой мем");
        var error = await petya.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, mine.Seq, true).ExpectHubErrorAsync("pin_not_allowed");
        Assert.EndsWith("Закреплять сообщения могут только модераторы чата.", HubCalls.ServerMessage(error), StringComparison.Ordinal);
        await petya.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, 999L, true).ExpectHubErrorAsync("pin_not_allowed");

        await petya.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, mine.Seq);
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, mine.Seq, true).ExpectHubErrorAsync("message_deleted");
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, 999L, true).ExpectHubErrorAsync("message_not_found");
        Assert.Null((await DetailsAsync(petya, room.ChatId)).PinnedMessage);

        var notice = await teacher.SendAsync(room.ChatId, "Экскурсия переносится");
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, notice.Seq, true);
        Assert.Equal(notice.Seq, (await DetailsAsync(petya, room.ChatId)).PinnedMessage?.Seq);
        await teacher.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, notice.Seq);
        Assert.Null((await DetailsAsync(petya, room.ChatId)).PinnedMessage);
    }

    [Fact]
    public async Task DirectChat_EitherPersonPins()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var direct = await petya.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", room.School.Id, room.Masha.AccountId);
        var address = await petya.SendAsync(direct.Id, "Встречаемся у входа в музей");

        await masha.Connection.InvokeAsync<MessageDto>("PinMessage", direct.Id, address.Seq, true);
        Assert.Equal(address.Seq, (await DetailsAsync(petya, direct.Id)).PinnedMessage?.Seq);
        await petya.Connection.InvokeAsync<MessageDto>("PinMessage", direct.Id, address.Seq, false);
        Assert.Null((await DetailsAsync(masha, direct.Id)).PinnedMessage);
    }

    /// <summary>
    /// Pupils react to the pinned homework while the teacher pins another message: pinning locks both messages before
    /// the chat, as a reaction does, so the two never wait on each other in a circle (before, the pin took the chat and
    /// then the message pinned before, and PostgreSQL killed one of the two as a deadlock: «service_unavailable»).
    /// </summary>
    [Fact]
    public async Task ReactionsToThePinnedMessageWhileAnotherIsPinned_NoDeadlock()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var a = await teacher.SendAsync(room.ChatId, "Домашнее задание");
        var b = await teacher.SendAsync(room.ChatId, "Расписание на неделю");
        await teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, a.Seq, true);
        string[] emoji = ["👍", "❤️", "🔥"];
        for (var round = 0; round < 15; round++)
        {
            var (pinned, other) = round % 2 == 0 ? (a, b) : (b, a);
            await Task.WhenAll(
                petya.Connection.InvokeAsync<MessageDto>("React", room.ChatId, pinned.Seq, emoji[round % 3], true),
                masha.Connection.InvokeAsync<MessageDto>("React", room.ChatId, pinned.Seq, emoji[(round + 1) % 3], round % 4 < 2),
                teacher.Connection.InvokeAsync<MessageDto>("PinMessage", room.ChatId, other.Seq, true));
        }

        Assert.Equal(b.Seq, (await DetailsAsync(petya, room.ChatId)).PinnedMessage?.Seq); // the last round pinned b
    }

    private static Task<ChatDetailsDto> DetailsAsync(HubClient hub, Guid chatId) => hub.Connection.InvokeAsync<ChatDetailsDto>("GetChat", chatId);
}
