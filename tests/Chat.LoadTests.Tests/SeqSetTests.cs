namespace Chat.LoadTests.Tests;

/// <summary>
/// The harness's record of what a client holds in a chat. With seeded history the chat starts at a seq above 0: the
/// history counts as held (a reconnecting client catches up from there, not from the first message).
/// </summary>
public sealed class SeqSetTests
{
    [Fact]
    public void HistoryBeforeTheRun_CountsAsHeld()
    {
        var seen = new SeqSet(start: 1000);

        Assert.True(seen.Contains(1));
        Assert.True(seen.Contains(1000));
        Assert.False(seen.Contains(1001));
        Assert.Equal(1000, seen.ContiguousHigh());
        Assert.Equal(3, seen.MissingUpTo(1003));
    }

    [Fact]
    public void NewSeqs_AreAddedOnce_AndGapsCounted()
    {
        var seen = new SeqSet(start: 1000);

        Assert.True(seen.Add(1001));
        Assert.True(seen.Add(1003));
        Assert.False(seen.Add(1003));
        Assert.False(seen.Add(1000));

        Assert.Equal(2, seen.Count);
        Assert.Equal(1001, seen.ContiguousHigh());
        Assert.Equal(1, seen.MissingUpTo(1003));
    }

    [Fact]
    public void WithoutHistory_StartsAtOne()
    {
        var seen = new SeqSet();

        Assert.False(seen.Contains(0));
        Assert.Equal(0, seen.ContiguousHigh());
        Assert.True(seen.Add(1));
        Assert.True(seen.Add(2));
        Assert.Equal(2, seen.ContiguousHigh());
        Assert.Equal(0, seen.MissingUpTo(2));
    }
}
