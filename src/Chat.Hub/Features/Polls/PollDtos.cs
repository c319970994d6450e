namespace Chat.Hub.Features.Polls;

/// <summary>
/// A poll as it is now. In a message (history, catch-up, pushes) everyone gets the same view: counts, and in open polls
/// who voted for what. <see cref="MyOptionIds"/>, <see cref="AnsweredCorrectly"/> and, before the poll closes,
/// <see cref="CorrectOptionId"/> are filled only in answers to the caller (CreatePoll, Vote, RetractVote, GetPoll).
/// </summary>
public sealed record PollDto(
    string Question,
    IReadOnlyList<PollOptionDto> Options,
    bool Multiple,
    bool Anonymous,
    bool Quiz,
    DateTime? ClosesAt,
    DateTime? ClosedAt,
    int TotalVoters,
    int? CorrectOptionId,
    int[]? MyOptionIds = null,
    bool? AnsweredCorrectly = null);

/// <summary>One option: its index (<c>id</c>), text, votes; <c>voters</c> (account ids) only in open (not anonymous) polls.</summary>
public sealed record PollOptionDto(int Id, string Text, int Votes, Guid[]? Voters);

/// <summary>The live update pushed to the chat after votes (coalesced) and when the poll closes.</summary>
public sealed record PollUpdateDto(Guid ChatId, long Seq, PollDto Poll);

/// <summary>
/// A new poll. <c>options</c>: 2–12 texts. <c>quiz</c>: one right answer, <c>correctOptionId</c> (its index); a quiz is
/// single choice. <c>closesAt</c>: optional, the server closes the poll then.
/// </summary>
public sealed record CreatePollRequest(
    Guid ChatId,
    Guid ClientId,
    string? Question,
    string[]? Options,
    bool Multiple = false,
    bool Anonymous = false,
    bool Quiz = false,
    int? CorrectOptionId = null,
    DateTimeOffset? ClosesAt = null,
    long? ReplyToSeq = null);

public sealed record VoteBody(int[]? OptionIds);
