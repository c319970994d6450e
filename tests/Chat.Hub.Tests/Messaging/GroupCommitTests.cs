using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Messages;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Tests.Infrastructure;
using Chat.Storage.Messages;
using Microsoft.AspNetCore.SignalR.Client;
using Chat.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Messaging;

/// <summary>
/// The group commit of sends (MessageBatcher, MessageStore.AppendBatchAsync): many concurrent sends are stored by one
/// statement, each with its own authorization; seqs stay gap-free per chat and one node pushes each chat in seq order.
/// </summary>
public sealed class GroupCommitTests(ChatApp app) : IClassFixture<ChatApp>
{
    private sealed record Room(TestSchool School, Guid ChatId, Guid ChannelId, TestUser Teacher, IReadOnlyList<TestUser> Pupils);

    private async Task<Room> RoomAsync(int pupils)
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("7В");
        var teacher = await school.AddVerifiedTeacherAsync("Ольга Петровна", cls.Id);
        var list = new List<TestUser>();
        for (var i = 1; i <= pupils; i++)
        {
            list.Add(await school.AddStudentAsync($"Ученик {i}", cls.Id));
        }

        await using var hub = await HubClient.ConnectAsync(app, list[0]);
        var chats = await hub.ChatsAsync(school.Id);
        return new Room(school, chats.Single(c => c.Kind == "class").Id, chats.Single(c => c.Kind == "channel").Id, teacher, list);
    }

    [Fact]
    public async Task SendsAreMeasured_BatchSizeQueueStoreAndPushRecorded()
    {
        var room = await RoomAsync(3);

        // Only this app's meter (other test classes run their own apps in this process at the same time).
        var factory = app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var recorded = new List<(string Name, double Value, string? Outcome)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MessageMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? outcome = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "chat.batch.outcome")
                {
                    outcome = tag.Value as string;
                }
            }

            lock (recorded)
            {
                recorded.Add((name, value, outcome));
            }
        }

        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        listener.Start();

        // Three sends of one pupil to one chat at once: one to three batches, as they reach the loop.
        await using var hub = await HubClient.ConnectAsync(app, room.Pupils[0]);
        await Task.WhenAll(Enumerable.Range(1, 3).Select(i => hub.SendAsync(room.ChatId, $"замер {i}")));
        List<(string Name, double Value, string? Outcome)> Of(string name)
        {
            lock (recorded)
            {
                return recorded.Where(r => r.Name == name).ToList();
            }
        }

        // Each send waited for its batch once; the batches wrote all three, each batch's statement and push timed.
        await HubClient.EventuallyAsync(() => Of("chat.message.batch.push.duration").Count >= Of("chat.message.batch.size").Count && Of("chat.message.batch.size").Sum(r => r.Value) >= 3, "the batches' pushes measured");
        var queued = Of("chat.message.queue.duration");
        Assert.True(queued.Count >= 3);
        Assert.All(queued, r => Assert.InRange(r.Value, 0, 30));
        var sizes = Of("chat.message.batch.size");
        Assert.Equal(3, sizes.Sum(r => r.Value));
        Assert.All(sizes, r => Assert.Equal(MessageMetrics.Written, r.Outcome));
        var stores = Of("chat.message.batch.store.duration");
        Assert.Equal(sizes.Count, stores.Count);
        Assert.All(stores, r => Assert.InRange(r.Value, 1e-6, 30));
        Assert.Equal(3, Of("chat.message.push.size").Sum(r => r.Value)); // one pupil's three messages: pushed once each
    }

    [Fact]
    public async Task ManyConnectionsSendAtOnce_ConsecutiveSeqs_EveryMemberGetsThemInSeqOrder()
    {
        var room = await RoomAsync(10);
        var hubs = new List<HubClient>();
        try
        {
            foreach (var pupil in room.Pupils)
            {
                hubs.Add(await HubClient.ConnectAsync(app, pupil));
            }

            hubs.Add(await HubClient.ConnectAsync(app, room.Teacher));

            // Eleven connections, eight sends each, all in flight at once: they end up in a few batches.
            var acks = await Task.WhenAll(hubs.SelectMany((h, n) => Enumerable.Range(1, 8).Select(i => h.SendAsync(room.ChatId, $"{n}.{i}"))));
            Assert.Equal(Enumerable.Range(1, 88).Select(i => (long)i), acks.Select(a => a.Seq).Order());

            foreach (var hub in hubs)
            {
                await HubClient.EventuallyAsync(() => hub.ReceivedIn(room.ChatId).Count() >= 88, "all 88 pushes");
            }

            await Task.Delay(200);
            foreach (var hub in hubs)
            {
                // Pushed in seq order, each once (the pushes of one node never overtake each other).
                Assert.Equal(Enumerable.Range(1, 88).Select(i => (long)i), hub.ReceivedIn(room.ChatId).Select(m => m.Seq));
            }
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task OneConnectionSendsWithoutWaitingForAnswers_LaterSendsDoNotWaitForEarlierOnes_StoredInTheOrderSent()
    {
        var room = await RoomAsync(3);
        await using var holder = await HubClient.ConnectAsync(app, room.Pupils[1]);
        await using var sender = await HubClient.ConnectAsync(app, room.Pupils[0]);
        var withSecond = await sender.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", room.School.Id, room.Pupils[1].AccountId);
        var withThird = await sender.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", room.School.Id, room.Pupils[2].AccountId);
        var batcher = app.Services.GetRequiredService<MessageBatcher>();

        // The node's batch statement is held (another pupil's message to the held class chat): whatever is sent now
        // waits for the next batch.
        await using var hold = await ChatRowHold.HoldAsync(app.ConnectionString, room.ChatId);
        var held = holder.SendAsync(room.ChatId, "держит пакет");
        await hold.WaitUntilHeldUpAsync();

        // One connection sends four messages without waiting for any answer (a phone flushing its outbox, or a script).
        // Each is queued at once, not after the earlier one's commit: all four wait in the queue together.
        var sends = new[] { (withSecond.Id, "1"), (withThird.Id, "2"), (withSecond.Id, "3"), (room.ChatId, "4") }
            .Select(s => sender.SendAsync(s.Item1, s.Item2))
            .ToList();
        await HubClient.EventuallyAsync(() => batcher.Waiting >= 4, "all four sends queued while the batch is held");
        await hold.DisposeAsync();
        var acks = await Task.WhenAll(sends);
        await held;

        // Stored in the order sent: "1" and "3" in their chat in that order, "4" after the held message in the class
        // chat. All four went into one batch (one transaction, one timestamp), "3" too: a second message of the same
        // sender to the same chat does not wait for the next batch.
        Assert.Equal(["1", "2", "3", "4"], acks.Select(a => a.Text));
        Assert.Equal([1L, 1L, 2L, 2L], acks.Select(a => a.Seq));
        Assert.All(acks, a => Assert.Equal(acks[0].CreatedAt, a.CreatedAt));
    }

    [Fact]
    public async Task SlowMode_APupilsMessagesInOneBatch_OnlyTheFirstStored_TheOthersRefusedAsSlowMode()
    {
        var room = await RoomAsync(2);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        await teacherHub.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", room.ChatId, new UpdateChatRequest(null, null, 600));
        await using var holder = await HubClient.ConnectAsync(app, room.Pupils[1]);
        await using var pupil = await HubClient.ConnectAsync(app, room.Pupils[0]);
        var batcher = app.Services.GetRequiredService<MessageBatcher>();

        // The pupil's phone flushes three messages at once while the node's statement is held: all three wait for the
        // same batch, and slow mode lets only the first through, as it would have a moment later.
        await using var hold = await ChatRowHold.HoldAsync(app.ConnectionString, room.ChatId);
        var held = holder.SendAsync(room.ChatId, "держит пакет");
        await hold.WaitUntilHeldUpAsync();
        var sends = new[] { "раз", "два", "три" }.Select(t => pupil.SendAsync(room.ChatId, t)).ToList();
        await HubClient.EventuallyAsync(() => batcher.Waiting >= 3, "the pupil's three sends queued while the batch is held");
        var fromTeacher = new[] { "Пишем", "по одному" }.Select(t => teacherHub.SendAsync(room.ChatId, t)).ToList();
        await HubClient.EventuallyAsync(() => batcher.Waiting >= 5, "the teacher's two queued behind them");
        await hold.DisposeAsync();
        await held;

        Assert.Equal("раз", (await sends[0]).Text);
        await sends[1].ExpectHubErrorAsync("slow_mode");
        await sends[2].ExpectHubErrorAsync("slow_mode");
        Assert.Equal(["Пишем", "по одному"], (await Task.WhenAll(fromTeacher)).Select(m => m.Text)); // moderators are not slowed down

        // Refused messages take no seq: the held message, the pupil's first, the teacher's two.
        var stored = await teacherHub.AllUpdatesAsync(room.ChatId, 0);
        Assert.Equal([1L, 2L, 3L, 4L], stored.Select(e => e.Seq));
        Assert.Equal(["держит пакет", "раз", "Пишем", "по одному"], stored.Select(e => e.Message.Text));
    }

    [Fact]
    public async Task SlowMode_InOneBatch_AMessageRefusedForItsOwnReason_DoesNotCountAsTheFirst()
    {
        var room = await RoomAsync(2);
        await using (var teacherHub = await HubClient.ConnectAsync(app, room.Teacher))
        {
            await teacherHub.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", room.ChatId, new UpdateChatRequest(null, null, 600));
        }

        var store = app.Services.GetRequiredService<MessageStore>();
        NewMessage Msg(TestUser who, string text, long? replyTo = null) =>
            new(room.ChatId, who.AccountId, Guid.NewGuid(), "text", text, replyTo, null, []);
        var results = await store.AppendBatchAsync(
        [
            Msg(room.Pupils[0], "ответ в пустоту", replyTo: 10_000), // refused: no such message
            Msg(room.Pupils[0], "первое настоящее"),                  // the pupil's first message that can be stored
            Msg(room.Pupils[0], "второе"),                            // slow mode
            Msg(room.Pupils[1], "у меня своя очередь"),
        ], CancellationToken.None);

        Assert.Null(results[0]);
        Assert.Equal((1L, "первое настоящее"), (results[1]!.Value.Message.Seq, results[1]!.Value.Message.Text));
        Assert.Null(results[2]);
        Assert.Equal(2L, results[3]!.Value.Message.Seq);
    }

    [Fact]
    public async Task OneConnectionsOtherCalls_StillRunOneAtATime_InTheOrderSent()
    {
        var room = await RoomAsync(2);
        await using var pupil = await HubClient.ConnectAsync(app, room.Pupils[0]);
        var mine = await pupil.SendAsync(room.ChatId, "исправлю");

        // An edit waits for the held chat row; the same connection's next call (a read that needs no lock) waits for
        // the edit: a client that does not wait for answers still gets its calls done in the order it made them.
        await using var hold = await ChatRowHold.HoldAsync(app.ConnectionString, room.ChatId);
        var edit = pupil.Connection.InvokeAsync<MessageDto>("EditMessage", room.ChatId, mine.Seq, "исправил");
        await hold.WaitUntilHeldUpAsync();
        var chats = pupil.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", room.School.Id);
        await Task.Delay(300);
        Assert.False(chats.IsCompleted, "the read ran before the edit sent ahead of it had finished");

        await hold.DisposeAsync();
        Assert.Equal("исправил", (await edit).Text);
        Assert.Contains(await chats, c => c.Id == room.ChatId);
    }

    [Fact]
    public async Task SendsQueuedBehindABatch_PushedToEachMemberAsOneMessagesReceived_InSeqOrder()
    {
        var room = await RoomAsync(6);
        await using var reader = await HubClient.ConnectAsync(app, room.Teacher);
        var hubs = new List<HubClient>();
        try
        {
            foreach (var pupil in room.Pupils)
            {
                hubs.Add(await HubClient.ConnectAsync(app, pupil));
            }

            // Hold the chat's row: the first send's statement waits for it, and the other pupils' sends queue up behind
            // it and form the next batch, all of one chat.
            await using var hold = await ChatRowHold.HoldAsync(app.ConnectionString, room.ChatId);

            var first = hubs[0].SendAsync(room.ChatId, "первое");
            await hold.WaitUntilHeldUpAsync();
            var rest = hubs.Skip(1).Select((h, i) => h.SendAsync(room.ChatId, $"следом {i}")).ToList();
            await Task.Delay(300); // the rest reach the queue (nothing can be stored while the row is held)
            await hold.DisposeAsync(); // let the held statement go on

            var acks = await Task.WhenAll(rest.Prepend(first));
            Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), acks.Select(a => a.Seq).Order());
            foreach (var member in hubs.Append(reader))
            {
                await HubClient.EventuallyAsync(() => member.ReceivedIn(room.ChatId).Count() >= 6, "all six pushes");
            }

            await Task.Delay(200);
            foreach (var member in hubs.Append(reader))
            {
                // Each once, in seq order.
                Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), member.ReceivedIn(room.ChatId).Select(m => m.Seq));

                // The ones that waited came as one push of the chat's messages, in seq order (all five; a slow machine
                // may let one of them miss the batch and come in the next).
                var batch = Assert.Single(member.Batches);
                Assert.InRange(batch.Length, 2, 5);
                Assert.Equal(Enumerable.Range((int)batch[0].Seq, batch.Length).Select(i => (long)i), batch.Select(m => m.Seq));
                Assert.All(batch, m => Assert.Equal(room.ChatId, m.ChatId));
            }
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ManyMessagesOfOneChatInOneBatch_PushedInChunksOfMaxPerPush_InSeqOrder()
    {
        var room = await RoomAsync(MessageBatcher.MaxPerPush + 2);
        await using var reader = await HubClient.ConnectAsync(app, room.Teacher);
        var batcher = app.Services.GetRequiredService<MessageBatcher>();
        NewMessage Msg(TestUser who, string text) => new(room.ChatId, who.AccountId, Guid.NewGuid(), "text", text, null, null, []);

        // The first append's statement waits for the held row; the other 65 are queued meanwhile (fed to the batcher
        // directly, so all of them are in its queue before the row is let go) and form one batch.
        await using var hold = await ChatRowHold.HoldAsync(app.ConnectionString, room.ChatId);

        var first = batcher.AppendAsync(Msg(room.Pupils[0], "первое"), CancellationToken.None);
        await hold.WaitUntilHeldUpAsync();
        var rest = room.Pupils.Skip(1).Select((p, i) => batcher.AppendAsync(Msg(p, $"следом {i}"), CancellationToken.None)).ToList();
        await hold.DisposeAsync(); // let the held statement go on
        await Task.WhenAll(rest.Prepend(first));

        var all = MessageBatcher.MaxPerPush + 2;
        await HubClient.EventuallyAsync(() => reader.ReceivedIn(room.ChatId).Count() >= all, $"all {all} pushes");
        await Task.Delay(200);
        Assert.Equal(Enumerable.Range(1, all).Select(i => (long)i), reader.ReceivedIn(room.ChatId).Select(m => m.Seq));

        // The batch of 65 went out as 64 in one MessagesReceived and the last one on its own.
        var chunk = Assert.Single(reader.Batches);
        Assert.Equal(Enumerable.Range(2, MessageBatcher.MaxPerPush).Select(i => (long)i), chunk.Select(m => m.Seq));
    }

    [Fact]
    public async Task RefusedSendsInTheSameBurst_GetTheirOwnErrors_OthersAreStored()
    {
        var room = await RoomAsync(4);
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var blocked = room.Pupils[3];
        var rule = (await teacherHub.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();
        await Moderate.BlockAsync(teacherHub.Connection, room.ChatId, blocked.AccountId, rule.Id, DateTimeOffset.UtcNow.AddDays(3), "Флуд");

        var hubs = new List<HubClient>();
        try
        {
            foreach (var pupil in room.Pupils)
            {
                hubs.Add(await HubClient.ConnectAsync(app, pupil));
            }

            // In one burst: good sends to the class chat, pupils posting to the read-only channel, the blocked pupil
            // posting, a reply to a message that does not exist.
            var good = hubs.Take(3).SelectMany((h, n) => Enumerable.Range(1, 5).Select(i => h.SendAsync(room.ChatId, $"ок {n}.{i}"))).ToList();
            var readOnly = hubs.Take(3).Select(h => h.SendAsync(room.ChannelId, "в канал")).ToList();
            var fromBlocked = hubs[3].SendAsync(room.ChatId, "я заблокирован");
            var badReply = hubs[0].SendAsync(room.ChatId, "ответ в пустоту", replyToSeq: 10_000);

            var stored = await Task.WhenAll(good);
            Assert.Equal(Enumerable.Range(1, 15).Select(i => (long)i), stored.Select(m => m.Seq).Order());
            foreach (var refused in readOnly)
            {
                await refused.ExpectHubErrorAsync("chat_read_only");
            }

            await fromBlocked.ExpectHubErrorAsync("member_blocked");
            await badReply.ExpectHubErrorAsync("reply_not_found");

            var all = await teacherHub.AllUpdatesAsync(room.ChatId, 0);
            Assert.Equal(Enumerable.Range(1, 15).Select(i => (long)i), all.Select(e => e.Seq));
            Assert.DoesNotContain(all, e => e.Message.Text is "я заблокирован" or "ответ в пустоту");
            Assert.Empty(await teacherHub.AllUpdatesAsync(room.ChannelId, 0));
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ResendWithSameClientId_SameSeq_PushedOnce()
    {
        var room = await RoomAsync(2);
        await using var sender = await HubClient.ConnectAsync(app, room.Pupils[0]);
        await using var reader = await HubClient.ConnectAsync(app, room.Pupils[1]);
        var clientId = Guid.NewGuid();

        // The same client id three times at once (a client retrying while the first is in flight) and once after.
        var acks = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => sender.SendAsync(room.ChatId, "один раз", clientId: clientId)));
        var later = await sender.SendAsync(room.ChatId, "один раз", clientId: clientId);
        var next = await sender.SendAsync(room.ChatId, "следующее");

        Assert.All(acks.Append(later), a => Assert.Equal(1, a.Seq));
        Assert.Equal(2, next.Seq);
        await HubClient.EventuallyAsync(() => reader.ReceivedIn(room.ChatId).Count() >= 2, "two pushes");
        await Task.Delay(200);
        Assert.Equal([1L, 2L], reader.ReceivedIn(room.ChatId).Select(m => m.Seq));
        Assert.Equal([1L, 2L], sender.ReceivedIn(room.ChatId).Select(m => m.Seq));
    }

    /// <summary>
    /// A node stored a message and stopped before pushing it (here: stored straight through the store, as that node's
    /// commit did): the sender, reconnected, resends it with the same client id. Members who never got it are told the
    /// chat moved on (ChatAdvanced) and catch up then — not at their next reconnect or the chat's next message — and
    /// nobody gets it pushed twice.
    /// </summary>
    [Fact]
    public async Task StoredButNeverPushed_TheResendTellsTheMembers_TheyCatchUp_NoSecondPush()
    {
        var room = await RoomAsync(2);
        await using var sender = await HubClient.ConnectAsync(app, room.Pupils[0]);
        await using var reader = await HubClient.ConnectAsync(app, room.Pupils[1]);
        var advanced = new TaskCompletionSource<(Guid, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        reader.Connection.On<Guid, long>("ChatAdvanced", (chat, seq) => advanced.TrySetResult((chat, seq)));
        var clientId = Guid.NewGuid();
        var store = app.Services.GetRequiredService<MessageStore>();
        var stored = await store.AppendBatchAsync([new NewMessage(room.ChatId, room.Pupils[0].AccountId, clientId, "text", "Сделал домашку", null, null, [])], CancellationToken.None);
        Assert.True(stored[0]!.Value.Created);
        await Task.Delay(200);
        Assert.Empty(reader.ReceivedIn(room.ChatId));

        var resent = await sender.SendAsync(room.ChatId, "Сделал домашку", clientId: clientId);

        Assert.Equal(stored[0]!.Value.Message.Seq, resent.Seq);
        Assert.Equal((room.ChatId, resent.Seq), await advanced.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var updates = await reader.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", room.ChatId, 0L, 50);
        Assert.Contains(updates.Events, e => e.Seq == resent.Seq && e.Message.Text == "Сделал домашку");
        Assert.Empty(reader.ReceivedIn(room.ChatId)); // told, not pushed the message a second time
    }

    [Fact]
    public async Task StoreBatch_MixedChatsAndRefusals_PerRowResults_ConsecutiveSeqsPerChat()
    {
        var room = await RoomAsync(3);
        var other = await RoomAsync(1);
        await using (var hub = await HubClient.ConnectAsync(app, room.Pupils[0]))
        {
            await hub.SendAsync(room.ChatId, "первое", clientId: Guid.Parse("00000000-0000-0000-0000-0000000000aa"));
        }

        var store = app.Services.GetRequiredService<MessageStore>();
        var p = room.Pupils;
        NewMessage Msg(Guid chat, TestUser who, string text, Guid? clientId = null, Guid[]? mentions = null) =>
            new(chat, who.AccountId, clientId ?? Guid.NewGuid(), "text", text, null, null, mentions ?? []);

        var batch = new[]
        {
            Msg(room.ChatId, p[0], "a", mentions: [p[1].AccountId, other.Pupils[0].AccountId]),
            Msg(other.ChatId, other.Pupils[0], "в другой школе"),
            Msg(room.ChatId, p[1], "b"),
            Msg(room.ChannelId, p[2], "в канал"),                       // read-only: refused
            Msg(other.ChatId, p[2], "чужой чат"),                         // not a member: refused
            Msg(room.ChatId, p[0], "повтор", Guid.Parse("00000000-0000-0000-0000-0000000000aa")), // resend: the stored one
            Msg(room.ChatId, p[2], "c"),
        };
        var results = await store.AppendBatchAsync(batch, CancellationToken.None);

        Assert.Equal((2L, true), (results[0]!.Value.Message.Seq, results[0]!.Value.Created));
        Assert.Equal([p[1].AccountId], results[0]!.Value.Message.Mentions); // only members of the chat are mentioned
        Assert.Equal("Ученик 1", results[0]!.Value.Message.SenderName);
        Assert.Equal((1L, true), (results[1]!.Value.Message.Seq, results[1]!.Value.Created));
        Assert.Equal(3L, results[2]!.Value.Message.Seq);
        Assert.Null(results[3]);
        Assert.Null(results[4]);
        Assert.Equal((1L, false, "первое"), (results[5]!.Value.Message.Seq, results[5]!.Value.Created, results[5]!.Value.Message.Text));
        Assert.Equal(4L, results[6]!.Value.Message.Seq);

        // What the statement returned is what a later read returns.
        foreach (var r in results.Where(r => r is { Created: true }))
        {
            var read = await store.GetAsync(r!.Value.Message.ChatId, r.Value.Message.Seq, CancellationToken.None);
            Assert.Equal(read, r.Value.Message with { CreatedAt = read!.CreatedAt, Mentions = read.Mentions });
            Assert.Equal(read.Mentions, r.Value.Message.Mentions);
        }
    }

    [Fact]
    public async Task BatchStatementFails_MessagesStoredOneByOne_OnlyTheBadOneFails_PushesStayInOrder()
    {
        // The batcher is fed directly: the hub refuses such text before it gets here, but a statement can still fail
        // as a whole (a resend racing in through another node, a deadlock). Then each message is stored on its own.
        var room = await RoomAsync(4);
        await using var reader = await HubClient.ConnectAsync(app, room.Teacher);
        var before = await reader.SendAsync(room.ChatId, "Начинаем");
        var batcher = app.Services.GetRequiredService<MessageBatcher>();
        NewMessage Msg(TestUser who, string text) => new(room.ChatId, who.AccountId, Guid.NewGuid(), "text", text, null, null, []);

        // Several rounds of concurrent appends, one of them unstorable (PostgreSQL refuses NUL in text), so that batches
        // fail while others are queued behind them.
        var sent = new List<(string Text, Task<(MessageDto Message, bool Created)?> Result)>();
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < room.Pupils.Count; i++)
            {
                var text = i == 1 ? $"плохое\u0000{round}" : $"раунд {round}, ученик {i}";
                sent.Add((text, batcher.AppendAsync(Msg(room.Pupils[i], text), CancellationToken.None)));
            }
        }

        foreach (var (text, result) in sent)
        {
            if (text.Contains('\u0000'))
            {
                // PostgreSQL's own refusal of that one message, not a spoiled connection's protocol error.
                var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => result);
                Assert.Equal(Npgsql.PostgresErrorCodes.CharacterNotInRepertoire, refused.SqlState);
            }
            else
            {
                Assert.True((await result)?.Created);
            }
        }

        var good = sent.Count(s => !s.Text.Contains('\u0000'));
        var seqs = (await Task.WhenAll(sent.Where(s => !s.Text.Contains('\u0000')).Select(s => s.Result))).Select(r => r!.Value.Message.Seq).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, good).Select(i => before.Seq + 1 + i), seqs);
        await HubClient.EventuallyAsync(() => reader.ReceivedIn(room.ChatId).Count() >= good + 1, "every stored message pushed");
        var pushed = reader.ReceivedIn(room.ChatId).Select(m => m.Seq).ToArray();
        Assert.Equal(pushed.Order(), pushed);
        Assert.Equal(good + 1, pushed.Distinct().Count());
    }
}
