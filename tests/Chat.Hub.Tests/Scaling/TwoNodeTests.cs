using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Chat.Hub.Features.Chats;
using Chat.Hub.Realtime;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Scaling;

/// <summary>Two server processes joined by a real Redis: delivery across nodes, a node killed, Redis lost and back.</summary>
public sealed class TwoNodeTests(ClusterApp cluster) : IClassFixture<ClusterApp>
{
    /// <summary>
    /// Pupils on both nodes send at the same time, as a class does: every member, on either node, is pushed every
    /// message exactly once, and each node's own batches reach it in seq order (pushes of the two nodes interleave as
    /// they come; the client puts them in order by seq, docs/hub-protocol.md).
    /// </summary>
    [Fact]
    public async Task SendersOnBothNodesAtOnce_EveryMemberGetsEveryMessageExactlyOnce()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 4);
        await using var senderA = new NodeMember(room.Pupils[0]);
        await using var senderB = new NodeMember(room.Pupils[1]);
        await using var readerA = new NodeMember(room.Pupils[2]);
        await using var readerB = new NodeMember(room.Teacher);
        await senderA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await readerA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await senderB.ConnectAsync(cluster.NodeB.BaseAddress, []);
        await readerB.ConnectAsync(cluster.NodeB.BaseAddress, []);

        async Task<List<long>> SendAsync(NodeMember sender, string who) =>
            (await Task.WhenAll(Enumerable.Range(1, 25).Select(i =>
                sender.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), $"{who} {i}", null, null)))))
            .Select(m => m.Seq).ToList();
        var sent = await Task.WhenAll(SendAsync(senderA, "A"), SendAsync(senderB, "B"));
        var all = sent.SelectMany(x => x).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), all); // stored once each, no gap

        foreach (var member in new[] { senderA, senderB, readerA, readerB })
        {
            await HubClient.EventuallyAsync(() => member.Pushes.Count(p => p.Message.ChatId == room.ChatId) >= 50, "50 pushes", 20_000);
            await Task.Delay(200);
            var seqs = member.Pushes.Where(p => p.Message.ChatId == room.ChatId).Select(p => p.Message.Seq).ToList();
            Assert.Equal(all, seqs.Order()); // each exactly once
            foreach (var fromNode in new[] { sent[0], sent[1] })
            {
                var mine = seqs.Where(fromNode.Contains).ToList();
                Assert.Equal(mine.Order(), mine); // a node's own messages in order
            }
        }
    }

    [Fact]
    public async Task MessageSentThroughNodeA_ReachesMembersOnNodeB_OnceInOrder()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 4);
        await using var onA = new NodeMember(room.Pupils[0]);
        await using var onB1 = new NodeMember(room.Pupils[1]);
        await using var onB2 = new NodeMember(room.Teacher);
        await onA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await onB1.ConnectAsync(cluster.NodeB.BaseAddress, []);
        await onB2.ConnectAsync(cluster.NodeB.BaseAddress, []);

        for (var i = 1; i <= 20; i++)
        {
            await onA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), $"Сообщение {i}", null, null));
        }

        foreach (var member in new[] { onA, onB1, onB2 })
        {
            await HubClient.EventuallyAsync(() => member.Pushes.Count(p => p.Message.ChatId == room.ChatId) >= 20, "20 pushes");
            await Task.Delay(100);
            Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), member.Pushes.Where(p => p.Message.ChatId == room.ChatId).Select(p => p.Message.Seq));
        }
    }

    [Fact]
    public async Task NodeKilledWhileClientsSend_NoAcknowledgedMessageLost_ResendsStoredOnce()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 3);
        var victim = cluster.NewNode();
        await victim.StartAsync();
        try
        {
            await using var sender = new NodeMember(room.Pupils[0]);
            await using var reader = new NodeMember(room.Pupils[1]);
            await using var survivor = new NodeMember(room.Teacher);
            await sender.ConnectAsync(victim.BaseAddress, []);
            await reader.ConnectAsync(victim.BaseAddress, []);
            await survivor.ConnectAsync(cluster.NodeB.BaseAddress, []);

            // The sender keeps sending; halfway through, the node it talks to is killed (SIGKILL).
            var acknowledged = new List<MessageDto>();
            var unacknowledged = new List<SendMessageRequest>();
            for (var i = 1; i <= 40; i++)
            {
                var request = new SendMessageRequest(room.ChatId, Guid.NewGuid(), $"Ответ {i}", null, null);
                if (i == 20)
                {
                    _ = victim.KillAsync();
                }

                try
                {
                    if (sender.Node == victim.BaseAddress && unacknowledged.Count == 0)
                    {
                        acknowledged.Add(await sender.Connection.InvokeAsync<MessageDto>("SendMessage", request));
                        continue;
                    }
                }
                catch (Exception e) when (e is HubException or InvalidOperationException or IOException or OperationCanceledException or System.Net.WebSockets.WebSocketException)
                {
                    // Not acknowledged: the client does not know whether it was stored.
                }

                unacknowledged.Add(request);
            }

            // Both clients reconnect to node B, catch up, and the sender resends what was not acknowledged (same client ids).
            await sender.ConnectAsync(cluster.NodeB.BaseAddress, [room.ChatId]);
            await reader.ConnectAsync(cluster.NodeB.BaseAddress, [room.ChatId]);
            foreach (var request in unacknowledged)
            {
                acknowledged.Add(await sender.Connection.InvokeAsync<MessageDto>("SendMessage", request));
            }

            Assert.Equal(40, acknowledged.Count);
            Assert.Equal(40, acknowledged.Select(m => m.ClientId).Distinct().Count());
            var history = await survivor.Connection.InvokeAsync<List<MessageDto>>("GetHistory", room.ChatId, null, 200);
            Assert.Equal(40, history.Count); // every message stored exactly once, resends included
            Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), history.Select(m => m.Seq));
            Assert.Equal(acknowledged.Select(m => m.ClientId).Order(), history.Select(m => m.ClientId).Order());

            // Everyone ends with every message exactly once, in order (pushes plus catch-up).
            await reader.CatchUpAsync(room.ChatId);
            await survivor.CatchUpAsync(room.ChatId);
            foreach (var member in new[] { reader, survivor })
            {
                Assert.Equal(history.Select(m => m.Seq), member.Timeline(room.ChatId).Select(m => m.Seq));
            }

            // The survivor's connection never saw the same seq pushed twice.
            var pushed = survivor.Pushes.Select(p => p.Message.Seq).ToList();
            Assert.Equal(pushed.Count, pushed.Distinct().Count());
        }
        finally
        {
            await victim.DisposeAsync();
        }
    }

    [Fact]
    public async Task RedisDown_SendsStored_PhonesStillConnect_HealthDegraded_OnceBackNodesCloseConnections_ClientsCatchUp()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 3);
        await using var onA = new NodeMember(room.Pupils[0]);
        await using var onB = new NodeMember(room.Pupils[1]);
        await using var late = new NodeMember(room.Pupils[2]);
        await onA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await onB.ConnectAsync(cluster.NodeB.BaseAddress, []);
        await onA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "До сбоя", null, null));
        await HubClient.EventuallyAsync(() => onB.Pushes.Any(p => p.Message.ChatId == room.ChatId), "the first push across nodes");

        var recovered = Recoveries();
        await cluster.Redis.KillAsync();
        try
        {
            // Sending still stores (PostgreSQL is the truth); the node answers health checks as degraded, not dead.
            for (var i = 1; i <= 5; i++)
            {
                var stored = await onA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), $"Во время сбоя {i}", null, null));
                Assert.Equal(1 + i, stored.Seq);
            }

            // A phone that reconnects during the outage gets in (it used to be refused by every node), sends (stored)
            // and catches up; it gets no live pushes until Redis is back.
            await late.ConnectAsync(cluster.NodeB.BaseAddress, [room.ChatId]);
            Assert.Equal(7, (await late.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "С телефона во время сбоя", null, null))).Seq);
            Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], late.Timeline(room.ChatId).Select(m => m.Seq));
            using var http = new HttpClient { BaseAddress = cluster.NodeA.BaseAddress };
            await HubClient.EventuallyAsync(() =>
            {
                var r = http.GetAsync("/health/ready").GetAwaiter().GetResult();
                return r.IsSuccessStatusCode && r.Content.ReadAsStringAsync().GetAwaiter().GetResult().Contains("Degraded", StringComparison.Ordinal);
            }, "degraded health");
        }
        finally
        {
            await cluster.Redis.StartAgainAsync();
        }

        // Once Redis is back, each node closes its connections (pushes, membership changes and ended sessions of the
        // outage were lost, and the late connection has no subscriptions): the clients reconnect and catch up.
        foreach (var member in new[] { onA, onB, late })
        {
            await HubClient.EventuallyAsync(() => member.Connection.State == HubConnectionState.Disconnected, "the node closes its connections once Redis is back", 30_000);
        }

        await onA.ConnectAsync(cluster.NodeA.BaseAddress, [room.ChatId]);
        await onB.ConnectAsync(cluster.NodeB.BaseAddress, [room.ChatId]);
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L], onB.Timeline(room.ChatId).Select(m => m.Seq));
        await HubClient.EventuallyAsync(() =>
        {
            onA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "После сбоя", null, null)).GetAwaiter().GetResult();
            Thread.Sleep(300);
            return onB.Pushes.Any(p => p.Message.Text == "После сбоя");
        }, "pushes across nodes after Redis is back", 30_000);
        await AfterRecoveryAsync(recovered);
    }

    /// <summary>
    /// A node that starts while Redis is away lets people in (they send; they get no live pushes), and once Redis is
    /// back closes their connections, so that they come back with their subscriptions and get pushes from other nodes.
    /// </summary>
    [Fact]
    public async Task NodeStartedWhileRedisIsAway_LetsPeopleIn_ClosesTheirConnectionsOnceRedisIsBack()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 2);
        await using var onLate = new NodeMember(room.Pupils[0]);
        await using var onA = new NodeMember(room.Pupils[1]);
        await onA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        var late = cluster.NewNode();
        var recovered = Recoveries();
        try
        {
            await cluster.Redis.KillAsync();
            try
            {
                await late.StartAsync();
                await onLate.ConnectAsync(late.BaseAddress, [room.ChatId]);
                Assert.Equal(1, (await onLate.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "Во время сбоя", null, null))).Seq);
            }
            finally
            {
                await cluster.Redis.StartAgainAsync();
            }

            await HubClient.EventuallyAsync(() => onLate.Connection.State == HubConnectionState.Disconnected, "the late node closes its connections once Redis is back", 30_000);
            await onLate.ConnectAsync(late.BaseAddress, [room.ChatId]);
            await HubClient.EventuallyAsync(() =>
            {
                try
                {
                    if (onA.Connection.State != HubConnectionState.Connected)
                    {
                        onA.ConnectAsync(cluster.NodeA.BaseAddress, []).GetAwaiter().GetResult(); // node A closes its connections too
                    }

                    onA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "После сбоя", null, null)).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is InvalidOperationException or HubException or IOException or OperationCanceledException)
                {
                    return false; // closed by node A's recovery meanwhile (the call cancelled or refused): again
                }

                Thread.Sleep(300);
                return onLate.Pushes.Any(p => p.Message.Text == "После сбоя");
            }, "pushes from node A reach the late node's member", 30_000);
            await AfterRecoveryAsync(recovered);
        }
        finally
        {
            await late.DisposeAsync();
        }
    }

    /// <summary>
    /// The first members of a chat on a node join it while Redis is away (their group's subscription fails), and after
    /// Redis is back each comes again as soon as its connection is closed, as the web client does: the chat's pushes
    /// must reach them again — a group whose members never all left at once kept a subscription that never worked.
    /// </summary>
    [Fact]
    public async Task FirstMembersOnANodeJoinWhileRedisIsAway_ComingBackAtOnceAfterIt_AreToldAgain()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 4);
        await using var onA = new NodeMember(room.Pupils[0]);
        await onA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        var onB = room.Pupils.Skip(1).Select(p => new NodeMember(p)).ToList();
        try
        {
            var recovered = Recoveries();
            await cluster.Redis.KillAsync();
            try
            {
                foreach (var member in onB)
                {
                    await member.ConnectAsync(cluster.NodeB.BaseAddress, [room.ChatId]);
                }
            }
            finally
            {
                await cluster.Redis.StartAgainAsync();
            }

            await Task.WhenAll(onB.Append(onA).Select(async member =>
            {
                await HubClient.EventuallyAsync(() => member.Connection.State == HubConnectionState.Disconnected, "closed once Redis is back", 30_000);
                await ReconnectAsync(member, member.Node!, room.ChatId);
            }));
            await AfterRecoveryAsync(recovered);

            await onA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "После сбоя", null, null));
            foreach (var member in onB)
            {
                await HubClient.EventuallyAsync(() => member.Pushes.Any(p => p.Message.Text == "После сбоя"), "the push after Redis is back, on node B");
            }
        }
        finally
        {
            foreach (var member in onB)
            {
                await member.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Redis closes the nodes' subscriber connections (as it does to a subscriber that reads too slowly) and the
    /// multiplexers reconnect within milliseconds: what was published meanwhile is lost all the same, so each node
    /// closes its connections to have them catch up (before, the 0.5 s poll never saw Redis away and nothing happened).
    /// </summary>
    [Fact]
    public async Task SubscribersKilledAndBackAtOnce_NodesStillCloseTheirConnections()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 1);
        await using var onB = new NodeMember(room.Pupils[0]);
        await onB.ConnectAsync(cluster.NodeB.BaseAddress, []);
        var recovered = Recoveries();
        await using (var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.Redis.ConnectionString + ",allowAdmin=true"))
        {
            var server = admin.GetServer(admin.GetEndPoints()[0]);
            await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        }

        await HubClient.EventuallyAsync(() => onB.Connection.State == HubConnectionState.Disconnected, "node B closes its connections", 30_000);
        await AfterRecoveryAsync(recovered);
    }

    /// <summary>Connects again at once, and again while the node still refuses (it may while it closes the others).</summary>
    private static async Task ReconnectAsync(NodeMember member, Uri node, Guid chatId)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await member.ConnectAsync(node, [chatId]);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < until)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>How many times each of the cluster's two nodes has closed its connections after a Redis outage.</summary>
    private (int A, int B) Recoveries() =>
        (Regex.Count(cluster.NodeA.Output, "Redis is back"), Regex.Count(cluster.NodeB.Output, "Redis is back"));

    /// <summary>
    /// Waits until both nodes have closed their connections after the outage (RedisOutageRecovery), so that the next
    /// test's connections are not among those closed.
    /// </summary>
    private async Task AfterRecoveryAsync((int A, int B) before)
    {
        await HubClient.EventuallyAsync(() => Recoveries() is var now && now.A > before.A && now.B > before.B, "both nodes closed their connections after the outage", 30_000);
        await Task.Delay(RedisOutageRecovery.Spread);
    }

    [Fact]
    public async Task MemberLeavesOnNodeB_StopsReceivingAtOnce_MessagesFromNodeA()
    {
        var school = await new SchoolBuilder(cluster).CreateAsync();
        var cls = await school.CreateClassAsync("8А");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель", cls.Id);
        var pupil = await school.AddStudentAsync("Ученик", cls.Id);
        await using var teacherOnA = new NodeMember(teacher);
        await using var pupilOnB = new NodeMember(pupil);
        await teacherOnA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await pupilOnB.ConnectAsync(cluster.NodeB.BaseAddress, []);

        var club = await teacherOnA.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Кружок робототехники", null, null, [pupil.AccountId]));
        await teacherOnA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(club.Id, Guid.NewGuid(), "Первое занятие во вторник", null, null));
        await HubClient.EventuallyAsync(() => pupilOnB.Timeline(club.Id).Count == 1, "the pupil added live on node B gets the message");

        await pupilOnB.Connection.InvokeAsync("LeaveChat", club.Id);
        await teacherOnA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(club.Id, Guid.NewGuid(), "Второе занятие в четверг", null, null));
        await teacherOnA.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(club.Id, Guid.NewGuid(), "Контрольное сообщение", null, null));
        await Task.Delay(500);
        Assert.Single(pupilOnB.Timeline(club.Id));
        Assert.DoesNotContain(pupilOnB.Pushes, p => p.Message.ChatId == club.Id && p.Message.Seq > 1);
        var gone = await Assert.ThrowsAsync<HubException>(() => pupilOnB.Connection.InvokeAsync<List<MessageDto>>("GetHistory", club.Id, null, null));
        Assert.Contains("chat_not_found:", gone.Message);
    }

    [Fact]
    public async Task OwnerRenamesGroupOnNodeA_MemberOnNodeB_IsToldTheNewTitle()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 1);
        await using var teacherOnA = new NodeMember(room.Teacher);
        await using var pupilOnB = new NodeMember(room.Petya);
        await teacherOnA.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await pupilOnB.ConnectAsync(cluster.NodeB.BaseAddress, []);
        var club = await teacherOnA.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(room.School.Id, "group", "Шахматы", null, null, [room.Petya.AccountId]));

        await teacherOnA.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", club.Id, new UpdateChatRequest("Шахматный клуб", null, null));

        await HubClient.EventuallyAsync(() => !pupilOnB.ChatUpdates.IsEmpty, "the rename reaches node B");
        var update = Assert.Single(pupilOnB.ChatUpdates);
        Assert.Equal((club.Id, "Шахматный клуб", false), (update.ChatId, update.Title, update.Archived));
    }
}
