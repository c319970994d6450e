using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Accounts;
using Chat.Storage.Infrastructure;
using Chat.Storage.Invites;
using Chat.Storage.Lifecycle;
using Chat.Storage.Messages;
using Chat.Storage.Schools;
using Dapper;

namespace Chat.Hub.Features.Accounts;

public sealed record DeleteAccountBody(string? Confirmation);

/// <summary>
/// Account deletion on request (regulations 001 §3.1): personal data (name, phone, e-mail, avatar, sessions) erased,
/// the person leaves every school (a pupil's parents as when a pupil leaves), their messages stay under
/// «Удалённый пользователь» or are removed, as each school's policy says; live connections are closed at once. Their
/// join requests still waiting are declined and the child's name they typed is erased (a class teacher saw «Удалённый
/// пользователь · указал(а) ребёнка: …» for ever, and approving it took the deleted account into the class).
/// </summary>
public sealed class AccountDeletionService(
    ChatDatabase database,
    MembershipStore memberships,
    LifecycleStore lifecycle,
    SchoolStore schools,
    MessageStore messages,
    RosterSync roster,
    LiveConnections live,
    SignInService signIn,
    InviteStore invites,
    InviteService inviteService,
    Chat.Storage.Audit.AuditLog audit)
{
    public const string Confirmation = "УДАЛИТЬ";
    public const string DeletedName = "Удалённый пользователь";

    /// <summary>The reason a deleted person's waiting join request is declined with (its deciders see it in «Заявки»).</summary>
    public const string DeclinedReason = "Аккаунт удалён.";

    public async Task DeleteAsync(Guid me, DeleteAccountBody body, AccountStore accounts, CancellationToken ct)
    {
        if (body.Confirmation != Confirmation)
        {
            throw ChatException.Field("confirmation", $"Чтобы удалить аккаунт, введите слово «{Confirmation}».");
        }

        var account = await accounts.GetAsync(me, ct) ?? throw new ChatException(ChatError.Unauthorized);
        List<Chat.Storage.Chats.MembershipChange>? changes = null;
        IReadOnlyList<(Guid SchoolId, Guid DeciderId)> deciders = [];
        for (var attempt = 1; changes is null; attempt++)
        {
            try
            {
                (changes, deciders) = await DeleteOnceAsync(me, account, ct);
            }
            catch (SchoolsChanged) when (attempt < 3)
            {
                // tried again, with the school the approval brought
            }
            catch (SchoolsChanged)
            {
                throw new ChatException(ChatError.Conflict);
            }
        }

        await live.EndSessionsAsync(me, null);
        await roster.ApplyAsync(changes);
        foreach (var school in deciders.GroupBy(d => d.SchoolId))
        {
            await inviteService.TellDecidersAsync(school.Key, [.. school.Select(d => d.DeciderId)]);
        }
    }

    /// <summary>
    /// One try of the deletion, rolled back (<see cref="SchoolsChanged"/>) when a join request of the person was approved
    /// into a school while the deletion read their schools (the approval held the request, the decline waited for it):
    /// tried again with that school, so the deleted account is never left enrolled in it.
    /// </summary>
    private async Task<(List<Chat.Storage.Chats.MembershipChange> Changes, IReadOnlyList<(Guid SchoolId, Guid DeciderId)> Deciders)> DeleteOnceAsync(
        Guid me, Chat.Storage.Accounts.Account account, CancellationToken ct)
    {
        var mySchools = await memberships.ListSchoolsOfAsync(me, ct);
        return await database.InTransactionAsync(async s =>
        {
            var changes = new List<Chat.Storage.Chats.MembershipChange>();
            foreach (var school in mySchools)
            {
                await schools.LockAsync(s, school.SchoolId, ct);
                var membership = await memberships.GetAsync(s, school.SchoolId, me, ct);
                if (membership is null)
                {
                    continue;
                }

                if (membership.IsAdmin && await memberships.CountAdminsAsync(s, school.SchoolId, ct) <= 1)
                {
                    throw new ChatException(ChatError.LastAdmin, detail: $"Вы единственный администратор школы «{school.Name}». Назначьте другого администратора, затем удалите аккаунт.");
                }

                var parents = membership.IsStudent ? await lifecycle.ParentsOfAsync(s, school.SchoolId, me, ct) : [];
                changes.AddRange(await lifecycle.HandOverOwnedChatsAsync(s, school.SchoolId, me, ct));
                if (membership.IsStudent)
                {
                    await lifecycle.RemoveStudentAsync(s, school.SchoolId, me, ct);
                }

                changes.AddRange(await lifecycle.LeaveSchoolAsync(s, school.SchoolId, me, ct));
                foreach (var parent in parents.Where(p => p != me))
                {
                    changes.AddRange(await lifecycle.ParentLosesChildAsync(s, school.SchoolId, parent, membership.StudentClassId!.Value, ct));
                    changes.AddRange(await roster.CloseUnreachableDirectChatsAsync(s, school.SchoolId, parent, ct));
                }

                var policy = await s.Connection.ExecuteScalarAsync<string>(new CommandDefinition(
                    "SELECT deleted_user_messages FROM schools WHERE id = @id", new { id = school.SchoolId }, s.Transaction, cancellationToken: ct));
                if (policy == "remove")
                {
                    await messages.DeleteAllOfSenderAsync(s, school.SchoolId, me, ct);
                }

                await messages.ForgetForwardedSenderAsync(s, school.SchoolId, me, DeletedName, ct);

                await audit.AppendAsync(s, school.SchoolId, null, "account.deleted", me, new { messages = policy }, ct);
                changes.AddRange(await roster.SyncAsync(s, school.SchoolId, ct));
            }

            // After the schools' locks, as a decision takes them: a request waiting for approval (often of someone in
            // no school yet) is declined, so nobody approves the deleted account into a class.
            var deciders = await invites.DeclineRequestsOfDeletedAsync(s, me, DeclinedReason, ct);
            if ((await memberships.SchoolIdsOfAsync(s, me, ct)).Any(id => mySchools.All(x => x.SchoolId != id)))
            {
                throw new SchoolsChanged();
            }

            await signIn.ForgetCodesAsync(s, account.Phone, account.Email, ct);
            await s.Connection.ExecuteAsync(new CommandDefinition(
                """
                DELETE FROM sessions WHERE account_id = @me;
                DELETE FROM chat_members WHERE account_id = @me;
                DELETE FROM person_blocks WHERE blocker_id = @me OR blocked_id = @me;
                DELETE FROM pending_admins WHERE phone = @phone OR email = @email;
                UPDATE accounts SET display_name = @name, phone = NULL, email = NULL, avatar_url = NULL, is_operator = false, deleted_at = now()
                WHERE id = @me;
                """,
                new { me, phone = account.Phone, email = account.Email, name = DeletedName }, s.Transaction, cancellationToken: ct));
            return (changes, deciders);
        }, ct);
    }

    /// <summary>The person's schools changed while the deletion ran (see <see cref="DeleteOnceAsync"/>).</summary>
    private sealed class SchoolsChanged : Exception;
}
