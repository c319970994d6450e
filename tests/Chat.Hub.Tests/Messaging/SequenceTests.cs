using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>The chat's sequence under concurrency: gap-free, no duplicates, every member gets everything once; paging stays stable.</summary>
public sealed class SequenceTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task SendMessage_FivePupilsTwentyEachAtOnce_SeqsOneToHundredEveryMemberGetsAllOnce()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 5);
        var pupils = new List<HubClient>();
        foreach (var pupil in room.Pupils)
        {
            pupils.Add(await HubClient.ConnectAsync(app, pupil));
        }

        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        try
        {
            // All hundred invocations are in flight at once: twenty per connection, five connections.
            var sends = pupils.SelectMany((hub, p) => Enumerable.Range(1, 20).Select(i => hub.SendAsync(room.ChatId, $"Ученик {p + 1}, сообщение {i}"))).ToList();
            var acks = await Task.WhenAll(sends);

            Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), acks.Select(m => m.Seq).Order());
            Assert.Equal(100, acks.Select(m => m.ClientId).Distinct().Count());

            // Each pupil's own messages keep the order in which that pupil sent them.
            foreach (var (hub, p) in pupils.Select((h, p) => (h, p)))
            {
                var mine = acks.Where(m => m.SenderId == room.Pupils[p].AccountId).OrderBy(m => m.Seq).Select(m => m.Text);
                Assert.Equal(Enumerable.Range(1, 20).Select(i => $"Ученик {p + 1}, сообщение {i}"), mine);
            }

            // Every member, the senders included, receives each of the hundred exactly once.
            foreach (var hub in pupils.Append(teacher))
            {
                await HubClient.EventuallyAsync(() => hub.ReceivedIn(room.ChatId).Count() >= 100, "a hundred messages");
            }

            await Task.Delay(200); // let any stray duplicate arrive before counting
            foreach (var hub in pupils.Append(teacher))
            {
                Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), hub.ReceivedIn(room.ChatId).Select(m => m.Seq).Order());
            }

            // The stored sequence has no gap and matches what was acknowledged.
            var stored = await teacher.AllUpdatesAsync(room.ChatId, 0, 30);
            Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), stored.Select(e => e.Seq));
            Assert.Equal(acks.OrderBy(m => m.Seq).Select(m => m.Text), stored.Select(e => e.Message.Text));
            Assert.Equal(100, (await teacher.ChatAsync(room.School.Id, room.ChatId)).LastSeq);
        }
        finally
        {
            foreach (var hub in pupils)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task GetHistory_PagingBackwardsWhileAnotherClientInserts_EveryMessageOnceInStableOrder()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 4);
        await using var reader = await HubClient.ConnectAsync(app, room.Teacher);
        var writers = new List<HubClient>();
        foreach (var pupil in room.Pupils)
        {
            writers.Add(await HubClient.ConnectAsync(app, pupil));
        }

        try
        {
            // Sixty messages are there before the reader starts; each message's text names its seq.
            for (var i = 0; i < 60; i++)
            {
                await writers[i % 2].SendAsync(room.ChatId, $"До: {i + 1}");
            }

            // Two other pupils keep writing while the reader pages back from the newest message, page by page.
            using var stop = new CancellationTokenSource();
            var inserting = writers.Skip(2).Select(async (w, n) =>
            {
                var sent = 0;
                while (!stop.IsCancellationRequested && sent < 25)
                {
                    await w.SendAsync(room.ChatId, $"Во время {n}.{++sent}");
                }

                return sent;
            }).ToList();

            var pages = new List<List<MessageDto>>();
            long? before = null;
            while (true)
            {
                var page = await reader.HistoryAsync(room.ChatId, before, 7);
                if (page.Count == 0)
                {
                    break;
                }

                pages.Add(page);
                before = page[0].Seq;
            }

            await stop.CancelAsync();
            var insertedDuring = (await Task.WhenAll(inserting)).Sum();

            // Each page is in ascending order and ends just below where the previous one began.
            Assert.All(pages, p => Assert.Equal(p.Select(m => m.Seq).Order(), p.Select(m => m.Seq)));
            for (var i = 1; i < pages.Count; i++)
            {
                Assert.Equal(pages[i - 1][0].Seq - 1, pages[i][^1].Seq);
            }

            // Together the pages hold every message up to the newest at the start, exactly once.
            var seen = pages.AsEnumerable().Reverse().SelectMany(p => p).ToList();
            var top = pages[0][^1].Seq;
            Assert.True(top >= 60);
            Assert.Equal(Enumerable.Range(1, (int)top).Select(i => (long)i), seen.Select(m => m.Seq));
            Assert.Equal(Enumerable.Range(1, 60).Select(i => $"До: {i}"), seen.Take(60).Select(m => m.Text));

            // What was written meanwhile is found after the newest the reader started from, also once each.
            var newer = await reader.AllUpdatesAsync(room.ChatId, top, 9);
            Assert.Equal(Enumerable.Range((int)top + 1, 60 + insertedDuring - (int)top).Select(i => (long)i), newer.Select(e => e.Seq));
        }
        finally
        {
            foreach (var hub in writers)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task GetUpdates_PolledWhileMessagesAndChangesInterleave_NeverSkipsASeq()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 2);
        await using var poller = await HubClient.ConnectAsync(app, room.Teacher);
        await using var writer = await HubClient.ConnectAsync(app, room.Pupils[0]);
        await using var reactor = await HubClient.ConnectAsync(app, room.Pupils[1]);
        var first = await writer.SendAsync(room.ChatId, "Начало");

        // One pupil writes messages while another keeps toggling a reaction: new messages and changes share the sequence.
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                await writer.SendAsync(room.ChatId, $"Сообщение {i}");
            }
        });
        var reacting = Task.Run(async () =>
        {
            for (var i = 0; i < 12; i++)
            {
                await reactor.Connection.InvokeAsync<MessageDto>("React", room.ChatId, first.Seq, "👍", i % 2 == 0);
            }
        });

        // A client catching up as it goes: each page must continue exactly where the last one ended.
        var seen = new List<long>();
        var after = 0L;
        var done = Task.WhenAll(writing, reacting);
        while (true)
        {
            var finished = done.IsCompleted;
            var page = await poller.UpdatesAsync(room.ChatId, after, 5);
            foreach (var e in page.Events)
            {
                Assert.True(e.Seq == after + 1, $"after seq {after} the next event was {e.Seq}: a client would never see {after + 1}");
                seen.Add(e.Seq);
                after = e.Seq;
            }

            if (finished && !page.HasMore && after == page.LastSeq)
            {
                break;
            }
        }

        await done;
        Assert.Equal(Enumerable.Range(1, 1 + 25 + 12).Select(i => (long)i), seen);
    }
}
