using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Messages;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Messaging;

/// <summary>A node that counts as busy from one message a second and then lets a cycle of its batch loop last a second.</summary>
public sealed class LingerApp : ChatApp
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Messages:LingerMilliseconds"] = "1000",
        ["Messages:LingerFromRate"] = "1",
        ["Messages:LingerFullRate"] = "1",
    };
}

/// <summary>
/// The group commit's linger (MessageBatchOptions, docs/performance.md (22)): under load the batch loop lets the next
/// batch gather for the rest of its cycle, so a chat's members get what was said meanwhile as one push.
/// </summary>
public sealed class BatchLingerTests(LingerApp app) : IClassFixture<LingerApp>
{
    [Fact]
    public async Task BusyNode_MessagesSentDuringTheCycle_StoredAsOneBatch_PushedAsOne_InOrder()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);

        // Two messages in a row: the second batch comes within a second of the first, so the node counts as busy and
        // the next batch gathers until a second after the second one's start.
        await petya.SendAsync(room.ChatId, "Раз");
        await petya.SendAsync(room.ChatId, "Два");

        // Four more, 40 ms apart, each of which a quiet node would store and push on its own.
        var sends = new List<Task<MessageDto>>();
        foreach (var text in new[] { "три", "четыре", "пять", "шесть" })
        {
            sends.Add(petya.SendAsync(room.ChatId, text));
            await Task.Delay(40);
        }

        var acks = await Task.WhenAll(sends);
        Assert.Equal([3L, 4L, 5L, 6L], acks.Select(a => a.Seq));
        Assert.All(acks, a => Assert.Equal(acks[0].CreatedAt, a.CreatedAt)); // one statement

        await HubClient.EventuallyAsync(() => masha.ReceivedIn(room.ChatId).Count() >= 6, "all six pushed");
        var push = Assert.Single(masha.Batches);
        Assert.Equal(["три", "четыре", "пять", "шесть"], push.Select(m => m.Text));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], masha.ReceivedIn(room.ChatId).Select(m => m.Seq));
    }
}

/// <summary>How long a cycle lasts at a given rate (no server needed).</summary>
public sealed class BatchPaceTests
{
    [Fact]
    public void QuietNode_NeverWaits_EvenForOneLargeBatch()
    {
        var pace = new MessageBatchPace(new MessageBatchOptions());
        Assert.Equal(TimeSpan.Zero, pace.Cycle(1, TimeSpan.FromSeconds(10)));     // the first message after ten quiet seconds
        Assert.Equal(TimeSpan.Zero, pace.Cycle(100, TimeSpan.FromMilliseconds(10))); // one burst of 100 (10 000 a second for 10 ms)
    }

    [Theory]
    [InlineData(2000, 0)]
    [InlineData(3000, 40)] // half way from 2500 to 3500: half the linger
    [InlineData(3500, 80)]
    [InlineData(6000, 80)]
    public void SteadyRate_TheLingerGrowsWithIt(int perSecond, int expectedMs)
    {
        var pace = new MessageBatchPace(new MessageBatchOptions());
        var cycle = TimeSpan.Zero;
        for (var i = 0; i < 200; i++) // 4 s of batches every 20 ms
        {
            cycle = pace.Cycle(perSecond / 50, TimeSpan.FromMilliseconds(20));
        }

        Assert.InRange(pace.Rate, perSecond * 0.99, perSecond * 1.01);
        Assert.InRange(cycle.TotalMilliseconds, expectedMs - 1, expectedMs + 1);
    }

    [Fact]
    public void LingerOff_NeverWaits()
    {
        var pace = new MessageBatchPace(new MessageBatchOptions { LingerMilliseconds = 0 });
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(TimeSpan.Zero, pace.Cycle(1000, TimeSpan.FromMilliseconds(10)));
        }
    }
}
