using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Chat.Hub.Features.Accounts;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Polls;

/// <summary>Poll settings (section <c>Polls</c>).</summary>
public sealed class PollOptions
{
    /// <summary>
    /// Base64 key (at least 32 bytes) for the voter hashes of ballots. Every node must share it and it must not change,
    /// or people could vote again in running polls. When empty it is derived from <c>Auth:SigningKey</c>.
    /// It is never stored in the database: without it the ballots table does not say who voted how.
    /// </summary>
    public string? BallotKey { get; set; }

    /// <summary>How often every node looks for polls whose closing time has come.</summary>
    public int CloseCheckMilliseconds { get; set; } = 1000;

    /// <summary>Votes within this window are pushed to the chat as one <c>PollUpdated</c>.</summary>
    public int PushCoalesceMilliseconds { get; set; } = 250;

    /// <summary>The furthest a closing time may be set ahead.</summary>
    public int MaxOpenDays { get; set; } = 366;
}

/// <summary>
/// Makes the voter key of a ballot: HMAC-SHA256(server key, chat id ‖ seq ‖ account id). One person has one key per poll,
/// so the primary key allows one ballot each; keys of different polls cannot be linked to each other or to a person
/// without the server key.
/// </summary>
public sealed class BallotKeys
{
    private readonly byte[] key;

    public BallotKeys(IOptions<PollOptions> options, SigningKeyProvider signingKeys)
    {
        var configured = options.Value.BallotKey;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            key = Convert.FromBase64String(configured);
            if (key.Length < 32)
            {
                throw new InvalidOperationException("Polls:BallotKey must be at least 32 bytes (base64).");
            }
        }
        else
        {
            key = HKDF.DeriveKey(HashAlgorithmName.SHA256, signingKeys.Key.Key, 32, info: Encoding.ASCII.GetBytes("chat-hub poll ballots v1"));
        }
    }

    public byte[] VoterKey(Guid chatId, long seq, Guid accountId)
    {
        Span<byte> input = stackalloc byte[40];
        chatId.TryWriteBytes(input[..16]);
        BinaryPrimitives.WriteInt64BigEndian(input[16..24], seq);
        accountId.TryWriteBytes(input[24..]);
        return HMACSHA256.HashData(key, input);
    }
}
