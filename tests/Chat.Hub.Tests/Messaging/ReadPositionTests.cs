using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Messages;
using Chat.Hub.Infrastructure;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Read positions: forward only, bounded by the chat's last seq; unread and mention counts; who read a message.</summary>
public sealed class ReadPositionTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static Task<long> MarkReadAsync(HubClient hub, Guid chatId, long seq) => hub.Connection.InvokeAsync<long>("MarkRead", chatId, seq);

    /// <summary>
    /// A pupil who joins the class mid-year does not find the class chat and the school channel full of unread messages
    /// written before he came; «read by» of those leaves him out; what is written after counts as usual.
    /// </summary>
    [Fact]
    public async Task NewMember_JoinsWithEarlierMessagesRead_ReadByLeavesHimOut_LaterOnesUnread()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var admin = await HubClient.ConnectAsync(app, room.School.Admin);
        var channel = (await admin.ChatsAsync(room.School.Id)).Single(c => c.Title == "Общешкольный канал");
        var earlier = new List<MessageDto>();
        for (var i = 1; i <= 3; i++)
        {
            earlier.Add(await petya.SendAsync(room.ChatId, $"До новенького {i}"));
        }

        await admin.SendAsync(channel.Id, "Объявление до новенького");

        var newcomer = await room.School.AddStudentAsync("Новенький", room.Class.Id);
        await using var hub = await HubClient.ConnectAsync(app, newcomer);
        var classChat = await hub.ChatAsync(room.School.Id, room.ChatId);
        Assert.Equal((3L, 3L, 0), (classChat.LastSeq, classChat.ReadSeq, classChat.UnreadCount));
        Assert.Equal(0, (await hub.ChatAsync(room.School.Id, channel.Id)).UnreadCount);
        var readBy = await petya.Connection.InvokeAsync<ReadByDto>("GetReadBy", room.ChatId, earlier[0].Seq);
        Assert.DoesNotContain(newcomer.AccountId, readBy.AccountIds!);

        var welcome = await petya.SendAsync(room.ChatId, "Привет, новенький!");
        Assert.Equal(1, (await hub.ChatAsync(room.School.Id, room.ChatId)).UnreadCount);
        await MarkReadAsync(hub, room.ChatId, welcome.Seq);
        Assert.Contains(newcomer.AccountId, (await petya.Connection.InvokeAsync<ReadByDto>("GetReadBy", room.ChatId, welcome.Seq)).AccountIds!);
    }

    [Fact]
    public async Task MarkRead_MovesOnlyForward_NeverPastLastSeq_CountsFollow()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        var masha = await HubClient.ConnectAsync(app, room.Masha);

        // Petya writes five messages; the last one mentions Masha.
        for (var i = 1; i <= 4; i++)
        {
            await petya.SendAsync(room.ChatId, $"Задача {i}");
        }

        await petya.SendAsync(room.ChatId, "Маша, проверь задачу 4", mentions: [room.Masha.AccountId]);

        var before = await masha.ChatAsync(room.School.Id, room.ChatId);
        Assert.Equal((5L, 0L, 5, 1), (before.LastSeq, before.ReadSeq, before.UnreadCount, before.MentionCount));

        // His own messages are never unread for him.
        Assert.Equal(0, (await petya.ChatAsync(room.School.Id, room.ChatId)).UnreadCount);

        Assert.Equal(3, await MarkReadAsync(masha, room.ChatId, 3));
        var partly = await masha.ChatAsync(room.School.Id, room.ChatId);
        Assert.Equal((3L, 2, 1), (partly.ReadSeq, partly.UnreadCount, partly.MentionCount));

        // A lower position later (another device that was behind) does not move it back.
        Assert.Equal(3, await MarkReadAsync(masha, room.ChatId, 1));
        Assert.Equal(3, (await masha.ChatAsync(room.School.Id, room.ChatId)).ReadSeq);

        // A position beyond the last message stops at the last message.
        Assert.Equal(5, await MarkReadAsync(masha, room.ChatId, 1_000_000));
        var read = await masha.ChatAsync(room.School.Id, room.ChatId);
        Assert.Equal((5L, 0, 0), (read.ReadSeq, read.UnreadCount, read.MentionCount));

        // So a message written afterwards is unread, not silently "already read".
        await petya.SendAsync(room.ChatId, "Ещё одна задача");
        Assert.Equal(1, (await masha.ChatAsync(room.School.Id, room.ChatId)).UnreadCount);

        // After reconnecting the counts are the same: they live in the database, not in the connection.
        await masha.DisposeAsync();
        await using var again = await HubClient.ConnectAsync(app, room.Masha);
        var afterReconnect = await again.ChatAsync(room.School.Id, room.ChatId);
        Assert.Equal((6L, 5L, 1, 0), (afterReconnect.LastSeq, afterReconnect.ReadSeq, afterReconnect.UnreadCount, afterReconnect.MentionCount));
        Assert.Equal(6, await MarkReadAsync(again, room.ChatId, afterReconnect.LastSeq));
        Assert.Equal(0, (await again.ChatAsync(room.School.Id, room.ChatId)).UnreadCount);
    }

    [Fact]
    public async Task UnreadCount_DeletedMessagesAndChanges_AreNotUnreadMessages()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var first = await petya.SendAsync(room.ChatId, "Первое");
        var second = await petya.SendAsync(room.ChatId, "Второе", mentions: [room.Masha.AccountId]);
        await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, first.Seq, "Первое, исправлено");
        await petya.Connection.InvokeAsync<MessageDto>("DeleteMessage", room.ChatId, second.Seq);

        // Two messages were written, one is deleted; the edit and the deletion are changes, not messages.
        var chat = await masha.ChatAsync(room.School.Id, room.ChatId);
        Assert.Equal((4L, 1, 0), (chat.LastSeq, chat.UnreadCount, chat.MentionCount));
    }

    [Fact]
    public async Task EditMessage_OfAMessageWithMentions_KeepsTheMentions()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var message = await petya.SendAsync(room.ChatId, "Маша, принеси тетрать", mentions: [room.Masha.AccountId]);
        Assert.Equal([room.Masha.AccountId], message.Mentions);

        var edited = await petya.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, message.Seq, "Маша, принеси тетрадь");

        // Fixing a typo does not take away the mention: Masha is still called.
        Assert.Equal([room.Masha.AccountId], edited.Mentions);
        Assert.Equal(1, (await masha.ChatAsync(room.School.Id, room.ChatId)).MentionCount);
    }

    [Fact]
    public async Task GetReadBy_SmallChat_ListsWhoReadIt_ReadPositionsArePushed()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var question = await petya.SendAsync(room.ChatId, "Кто знает ответ на задачу 3?");
        var later = await petya.SendAsync(room.ChatId, "Ну хоть кто-нибудь?");

        var nobody = await petya.Connection.InvokeAsync<ReadByDto>("GetReadBy", room.ChatId, question.Seq);
        Assert.Equal(0, nobody.Count);
        Assert.Empty(nobody.AccountIds!);

        await MarkReadAsync(masha, room.ChatId, question.Seq);
        await MarkReadAsync(teacher, room.ChatId, later.Seq);

        var first = await petya.Connection.InvokeAsync<ReadByDto>("GetReadBy", room.ChatId, question.Seq);
        Assert.Equal(2, first.Count);
        Assert.Equal(new[] { room.Masha.AccountId, room.Teacher.AccountId }.Order(), first.AccountIds!.Order());
        var second = await petya.Connection.InvokeAsync<ReadByDto>("GetReadBy", room.ChatId, later.Seq);
        Assert.Equal([room.Teacher.AccountId], second.AccountIds);

        // In a small chat members see read positions move, live.
        await HubClient.EventuallyAsync(() => petya.ReadPositions.Any(p => p.AccountId == room.Teacher.AccountId && p.Seq == later.Seq), "the teacher's read position");
        Assert.Contains(petya.ReadPositions, p => p.AccountId == room.Masha.AccountId && p.Seq == question.Seq && p.ChatId == room.ChatId);
    }

    [Fact]
    public async Task GetChat_SmallChat_GivesTheOthersFurthestReadPosition_OutsidersGetNothing_BigChatsNoPosition()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        Task<ChatDetailsDto> OpenAsync(HubClient hub) => hub.Connection.InvokeAsync<ChatDetailsDto>("GetChat", room.ChatId);
        var question = await petya.SendAsync(room.ChatId, "Кто знает ответ на задачу 3?");
        var later = await petya.SendAsync(room.ChatId, "Ну хоть кто-нибудь?");

        // Petya's own reading does not make his messages read by others.
        await MarkReadAsync(petya, room.ChatId, later.Seq);
        Assert.Equal(0, (await OpenAsync(petya)).OthersReadSeq);

        // The furthest of the others' positions: Masha's, then the teacher's beyond it (a lower one does not lower it).
        await MarkReadAsync(masha, room.ChatId, question.Seq);
        Assert.Equal(question.Seq, (await OpenAsync(petya)).OthersReadSeq);
        await MarkReadAsync(teacher, room.ChatId, later.Seq);
        Assert.Equal(later.Seq, (await OpenAsync(petya)).OthersReadSeq);
        Assert.Equal(later.Seq, (await OpenAsync(masha)).OthersReadSeq);

        // The same over HTTP.
        var overHttp = await room.Petya.Http.GetFromJsonAsync<ChatDetailsDto>($"/api/chats/{room.ChatId}", ChatJson.Options);
        Assert.Equal(later.Seq, overHttp!.OthersReadSeq);

        // Neither a pupil of the same school outside the chat nor a member of another school learns anything.
        await using var kolya = await HubClient.ConnectAsync(app, room.Kolya);
        await OpenAsync(kolya).ExpectHubErrorAsync("chat_not_found");
        var other = await new SchoolBuilder(app).ClassRoomAsync();
        await using var stranger = await HubClient.ConnectAsync(app, other.Petya);
        await OpenAsync(stranger).ExpectHubErrorAsync("chat_not_found");

        // Above the limit read positions stay private: no position, though the members read on.
        await app.ExecuteSqlAsync(
            """
            WITH extra AS (
                INSERT INTO accounts (id, display_name, email)
                SELECT gen_random_uuid(), 'Ученик ' || n, gen_random_uuid() || '@example.invalid' FROM generate_series(1, @count) n
                RETURNING id)
            INSERT INTO chat_members (chat_id, account_id, read_seq) SELECT @chatId, id, @seq FROM extra
            """,
            new { chatId = room.ChatId, count = MessageService.ReadReceiptsLimit, seq = later.Seq });
        var big = await OpenAsync(petya);
        Assert.True(big.Chat.MemberCount > MessageService.ReadReceiptsLimit);
        Assert.Null(big.OthersReadSeq);
    }
}
