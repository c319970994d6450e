using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Chat.LoadTests.Wire;
using HdrHistogram;

namespace Chat.LoadTests;

public sealed record SeedPerson(Guid AccountId, string Token);

/// <summary><paramref name="HistorySeq"/>: the class chat's last seq before the run (its seeded history; 0 in older seed files).</summary>
public sealed record SeedClass(Guid ClassId, Guid ChatId, Guid SchoolChannelId, SeedPerson? Teacher, IReadOnlyList<SeedPerson> Members, long HistorySeq = 0);

/// <summary>What <c>Chat.Hub loadtest-seed</c> writes: the school, its classes' chats and everyone's access token.</summary>
public sealed record SeedFile(Guid SchoolId, Guid SchoolChannelId, DateTimeOffset TokensExpireAt, SeedPerson Admin, IReadOnlyList<SeedClass> Classes)
{
    public static SeedFile Load(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<SeedFile>(stream, new JsonSerializerOptions(JsonSerializerDefaults.Web))
            ?? throw new InvalidDataException("empty seed file " + path);
    }

    public int People => 1 + Classes.Sum(c => c.Members.Count + (c.Teacher is null ? 0 : 1));
}

/// <summary>
/// A set of sequence numbers (base + 1, base + 2, …) as a growable bitmap; 1..<paramref name="start"/> (the chat's
/// history before the run) count as held.
/// </summary>
internal sealed class SeqSet(long start = 0)
{
    private ulong[] bits = new ulong[2];

    public long Count { get; private set; }

    /// <summary>Adds the seq; false when it was there already.</summary>
    public bool Add(long seq)
    {
        if (seq <= start)
        {
            return false;
        }

        seq -= start;
        var word = (int)(seq >> 6);
        if (word >= bits.Length)
        {
            Array.Resize(ref bits, Math.Max(word + 1, bits.Length * 2));
        }

        var mask = 1UL << (int)(seq & 63);
        if ((bits[word] & mask) != 0)
        {
            return false;
        }

        bits[word] |= mask;
        Count++;
        return true;
    }

    public bool Contains(long seq)
    {
        if (seq <= start)
        {
            return seq >= 1;
        }

        seq -= start;
        var word = (int)(seq >> 6);
        return word < bits.Length && (bits[word] & (1UL << (int)(seq & 63))) != 0;
    }

    /// <summary>The highest h such that 1..h are all present (the start when the first after it is missing).</summary>
    public long ContiguousHigh()
    {
        var h = start;
        while (Contains(h + 1))
        {
            h++;
        }

        return h;
    }

    /// <summary>How many of 1..last are missing.</summary>
    public long MissingUpTo(long last)
    {
        long missing = 0;
        for (var s = start + 1; s <= last; s++)
        {
            if (!Contains(s))
            {
                missing++;
            }
        }

        return missing;
    }
}

/// <summary>What one member has received in one chat. Locked: pushes and catch-up answers arrive on different threads.</summary>
internal sealed class ChatTrack(ChatInfo chat)
{
    public ChatInfo Chat { get; } = chat;

    public SeqSet Seen { get; } = new(chat.StartSeq);

    public SeqSet Pushed { get; } = new(chat.StartSeq);

    public long MaxPushed { get; set; }
}

internal enum Role
{
    Pupil,
    Teacher,
    Admin,
}

/// <summary>One person of the seeded school as the harness drives them: their chats, their connection, what they got.</summary>
internal sealed class Member(int index, SeedPerson person, Role role, Guid[] groups)
{
    public int Index { get; } = index;

    public SeedPerson Person { get; } = person;

    public Role Role { get; } = role;

    /// <summary>The chats whose groups this member's connection joins (told to the floor; the real server reads them from the database).</summary>
    public Guid[] Groups { get; } = groups;

    public ChatTrack[] Tracks { get; set; } = [];

    public int Node { get; set; }

    public LeanHubClient? Client { get; set; }

    /// <summary>Reconnect storm: seconds after the drop when this member was connected again, and caught up.</summary>
    public double ReconnectedAfter { get; set; } = double.NaN;

    public double CaughtUpAfter { get; set; } = double.NaN;

    public ChatTrack? Track(Guid chatId)
    {
        foreach (var t in Tracks)
        {
            if (t.Chat.Id == chatId)
            {
                return t;
            }
        }

        return null;
    }
}

/// <summary>A chat the scenario sends to: who sends, who must receive.</summary>
internal sealed class ChatInfo(int index, Guid id, long startSeq = 0)
{
    public int Index { get; } = index;

    public Guid Id { get; } = id;

    /// <summary>The chat's last seq when the run starts (its seeded history on the server; 0 on the floor).</summary>
    public long StartSeq { get; } = startSeq;

    public List<Member> Receivers { get; } = [];

    public List<Member> Senders { get; } = [];

    /// <summary>Highest seq acknowledged to a sender (the chat's last message the harness knows of).</summary>
    public long LastAckedSeq;
}

/// <summary>Counters and latencies of one step (one rate) on one target. Written from many threads.</summary>
internal sealed class StepMetrics(int index, string label, double rate)
{
    /// <summary>Latencies are recorded in microseconds, up to two minutes.</summary>
    public const long MaxMicros = 120_000_000;

    public int Index { get; } = index;

    public string Label { get; } = label;

    public double Rate { get; } = rate;

    public long Sent;
    public long Acked;
    public long Failed;
    public long Skipped;
    public long ExpectedDeliveries;
    public long Deliveries;
    public long DeliveriesInWindow;
    public long Duplicates;
    public long OutOfOrder;
    public long Overlaps;
    public long Recovered;
    public long Foreign;

    /// <summary>Pushes that carried the step's deliveries (a MessagesReceived carries several).</summary>
    public long Pushes;

    public volatile bool Open;

    public Recorder Latency { get; } = NewRecorder();

    public Recorder AckLatency { get; } = NewRecorder();

    public Recorder CatchUpLatency { get; } = NewRecorder();

    public Recorder SchedulerLag { get; } = NewRecorder();

    public ConcurrentQueue<(ChatInfo Chat, long Seq)> Acks { get; } = new();

    public ConcurrentDictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);

    public double StartedAt { get; set; }

    public double EndedAt { get; set; }

    /// <summary>
    /// Many threads record at once (pushes, acks, catch-ups): the recorder's histograms must count atomically. With a
    /// plain <see cref="LongHistogram"/> two racing recordings could lose a count but not the total, and reading the
    /// histogram then failed (an ArgumentOutOfRangeException in HdrHistogram's enumerator, seen in a storm smoke run).
    /// </summary>
    public static Recorder NewRecorder() => new(1, MaxMicros, 3, (id, low, high, digits) => new LongConcurrentHistogram(id, low, high, digits));

    public static long Micros(long fromTimestamp, long toTimestamp) =>
        Math.Clamp((toTimestamp - fromTimestamp) * 1_000_000 / Stopwatch.Frequency, 1, MaxMicros);
}
