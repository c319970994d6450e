using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Back-pressure: the one who floods, oversizes or over-connects gets the error; everyone else carries on.</summary>
public sealed class HubLimitTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task SendMessage_FloodBeyondTheBurst_RateLimitedForTheFlooderOnly()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);

        // Petya sends as fast as the server answers until he is stopped (the burst is 30; the cap only guards the test).
        var accepted = 0;
        HubException? refusal = null;
        for (var i = 0; i < 1000 && refusal is null; i++)
        {
            try
            {
                await petya.SendAsync(room.ChatId, $"Спам {i}");
                accepted++;
            }
            catch (HubException e)
            {
                refusal = e;
            }
        }

        Assert.NotNull(refusal);
        Assert.Equal("rate_limited", HubCalls.CodeOf(refusal));
        Assert.True(accepted >= 30, $"the burst of 30 was allowed ({accepted} accepted)");

        // Masha, in the same chat, is not slowed down by Petya's flood.
        for (var i = 0; i < 5; i++)
        {
            await masha.SendAsync(room.ChatId, $"Петя, хватит! {i}");
        }

        // Petya's connection stays open and usable; only what was acknowledged was stored, and delivered.
        Assert.Null(petya.ClosedWith);
        await petya.Connection.InvokeAsync<DateTimeOffset>("Ping");
        var stored = await masha.AllUpdatesAsync(room.ChatId, 0);
        Assert.Equal(accepted, stored.Count(e => e.Message.SenderId == room.Petya.AccountId));
        Assert.Equal(5, stored.Count(e => e.Message.SenderId == room.Masha.AccountId));
        await HubClient.EventuallyAsync(() => masha.ReceivedIn(room.ChatId).Count() == accepted + 5, "every stored message reaches Masha");
    }

    [Fact]
    public async Task HubMessage_OverMaximumSize_ClosesOnlyThatConnection()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var petyaPhone = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);

        // 70 000 Cyrillic letters are some 140 KB of JSON, over the 64 KB a hub message may have.
        var huge = new string('ж', 70_000);
        await Assert.ThrowsAnyAsync<Exception>(() => petya.SendAsync(room.ChatId, huge));
        await HubClient.EventuallyAsync(() => petya.ClosedWith is not null, "the oversized connection is closed");
        Assert.Equal(HubConnectionState.Disconnected, petya.Connection.State);

        // Nothing was stored; everyone else, Petya's other device included, carries on.
        Assert.Null(masha.ClosedWith);
        Assert.Null(petyaPhone.ClosedWith);
        var after = await masha.SendAsync(room.ChatId, "Все на месте?");
        await petyaPhone.SendAsync(room.ChatId, "Я здесь");
        Assert.Equal(1, after.Seq);
        await HubClient.EventuallyAsync(() => petyaPhone.ReceivedIn(room.ChatId).Count() == 2, "both messages on Petya's phone");

        // He can connect again at once.
        await using var again = await HubClient.ConnectAsync(app, room.Petya);
        Assert.Equal(2, (await again.HistoryAsync(room.ChatId)).Count);
    }

    [Fact]
    public async Task Connect_MoreThanTenConnectionsOfOnePerson_TheEleventhIsRefused()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var connections = new List<HubClient>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                connections.Add(await HubClient.ConnectAsync(app, room.Petya));
            }

            // The eleventh gets through the handshake and is then closed with a reason the app can show.
            await using var eleventh = await HubClient.StartAsync(app, room.Petya);
            await HubClient.EventuallyAsync(() => eleventh.ClosedWith is not null, "the eleventh connection is refused");
            Assert.Contains("too_many_connections", eleventh.ClosedWith!.Message, StringComparison.Ordinal);
            await Assert.ThrowsAnyAsync<Exception>(() => HubClient.ConnectAsync(app, room.Petya));

            // The ten keep working, and another person is not affected at all.
            await using var masha = await HubClient.ConnectAsync(app, room.Masha);
            var message = await connections[9].SendAsync(room.ChatId, "Десять вкладок — это нормально");
            await HubClient.EventuallyAsync(() => connections.All(c => c.ReceivedIn(room.ChatId).Any()) && masha.ReceivedIn(room.ChatId).Any(), "the message on all ten and Masha's");

            // When one closes, there is room for a new one.
            await connections[0].DisposeAsync();
            connections.RemoveAt(0);
            // (The server notices the close asynchronously, so the first attempts may still find ten.)
            var until = DateTime.UtcNow.AddSeconds(10);
            while (!await TryConnectAsync(room.Petya, connections))
            {
                Assert.True(DateTime.UtcNow < until, "no connection was possible after one of ten was closed");
                await Task.Delay(50);
            }

            Assert.Equal(message.Seq, Assert.Single(await connections[^1].HistoryAsync(room.ChatId)).Seq);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private async Task<bool> TryConnectAsync(TestUser user, List<HubClient> into)
    {
        try
        {
            into.Add(await HubClient.ConnectAsync(app, user));
            return true;
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            return false;
        }
    }

    [Fact]
    public async Task SendMessage_SlowModeSetByClassTeacher_PupilsSecondRefused_TeacherExempt()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);

        // Only a moderator sets slow mode.
        await petya.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", room.ChatId, new UpdateChatRequest(null, null, 0)).ExpectHubErrorAsync("moderator_only");
        var updated = await teacher.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", room.ChatId, new UpdateChatRequest(null, null, 600));
        Assert.Equal(600, updated.Chat.SlowModeSeconds);
        Assert.Equal(600, (await petya.ChatAsync(room.School.Id, room.ChatId)).SlowModeSeconds);

        await petya.SendAsync(room.ChatId, "Первое");
        await petya.SendAsync(room.ChatId, "Второе").ExpectHubErrorAsync("slow_mode");

        // Another pupil has her own turn; the teacher is not slowed down.
        await masha.SendAsync(room.ChatId, "А я ещё не писала");
        await teacher.SendAsync(room.ChatId, "Пишем по одному.");
        await teacher.SendAsync(room.ChatId, "Вопросы — после урока.");

        // A refused message takes no seq; the sequence stays gap-free.
        var stored = await teacher.AllUpdatesAsync(room.ChatId, 0);
        Assert.Equal([1L, 2L, 3L, 4L], stored.Select(e => e.Seq));

        // The teacher turns slow mode off and Petya may write again; out-of-range values are refused.
        await teacher.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", room.ChatId, new UpdateChatRequest(null, null, 86_401)).ExpectHubErrorAsync("validation_failed");
        await teacher.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", room.ChatId, new UpdateChatRequest(null, null, 0));
        await petya.SendAsync(room.ChatId, "Второе");
    }
}
