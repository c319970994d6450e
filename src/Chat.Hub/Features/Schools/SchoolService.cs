using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Lifecycle;
using Chat.Hub.Infrastructure;
using Chat.Storage.Audit;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Schools;
using Npgsql;

namespace Chat.Hub.Features.Schools;

/// <summary>School info, classes and staff roles, as the school's admins manage them.</summary>
public sealed class SchoolService(
    SchoolAccess access,
    SchoolStore schools,
    MembershipStore memberships,
    ChatDatabase database,
    AuditLog audit,
    RosterSync roster,
    LifecycleService lifecycle,
    TimeProvider clock)
{
    public async Task<SchoolDto> GetAsync(Guid schoolId, Guid me, CancellationToken ct)
    {
        var member = await access.MemberAsync(schoolId, me, ct);
        var school = await schools.GetAsync(schoolId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
        return SchoolDto.From(school, member);
    }

    public async Task<SchoolDto> UpdateAsync(Guid schoolId, Guid me, UpdateSchoolBody body, CancellationToken ct)
    {
        var (school, changes) = await database.InTransactionAsync(async s =>
        {
            // Access first: someone outside the school learns nothing, not even what a valid body looks like.
            var admin = await access.AdminAsync(s, schoolId, me, ct);
            var name = Text.Required(body.Name, "name", 200, "Укажите название школы (до 200 символов).");
            var region = Text.Optional(body.Region, "region", 200) ?? "";
            var address = Text.Optional(body.Address, "address", 500) ?? "";
            var journal = Text.OptionalUrl(body.JournalUrl, "journalUrl");
            if (body.DeletedUserMessages is not (null or "keep" or "remove"))
            {
                throw ChatException.Field("deletedUserMessages", "Сообщения удалённых пользователей: keep (оставлять) или remove (удалять).");
            }

            var current = await schools.LockAsync(s, schoolId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
            admin = await access.AdminAsync(s, schoolId, me, ct); // again under the lock: an admin removed meanwhile changes nothing
            var updated = await schools.UpdateInfoAsync(s, schoolId, name, region, address, journal,
                body.ApproveStudents ?? current.ApproveStudents, body.ApproveParents ?? current.ApproveParents, body.ApproveStaff ?? current.ApproveStaff,
                body.PupilSafeMode ?? current.PupilSafeMode, body.DeletedUserMessages ?? current.DeletedUserMessages, ct);
            // Which settings changed, in the admin page's words: another admin reads who turned safe mode off.
            var settings = SettingChanges(current, updated!);
            await audit.AppendAsync(s, schoolId, me, "school.updated", schoolId, new { name, region, address, journal, settings }, ct);

            // Safe mode turned on closes the direct chats it now forbids (a pupil and another class's parent).
            var changes = updated!.PupilSafeMode && !current.PupilSafeMode ? await roster.CloseUnreachableDirectChatsAsync(s, schoolId, null, ct) : [];
            return (SchoolDto.From(updated, admin), changes);
        }, ct);
        await roster.ApplyAsync(changes);
        return school;
    }

    /// <summary>The school's switches that differ between <paramref name="before"/> and <paramref name="after"/>, in Russian.</summary>
    internal static string[] SettingChanges(Storage.Schools.School before, Storage.Schools.School after)
    {
        static string Approval(bool on, string whose) => $"заявки {whose}: {(on ? "с одобрением" : "без одобрения")}";
        var changes = new List<string>();
        if (before.PupilSafeMode != after.PupilSafeMode)
        {
            changes.Add(after.PupilSafeMode ? "безопасный режим учеников включён" : "безопасный режим учеников выключен");
        }

        if (before.ApproveStudents != after.ApproveStudents)
        {
            changes.Add(Approval(after.ApproveStudents, "учеников"));
        }

        if (before.ApproveParents != after.ApproveParents)
        {
            changes.Add(Approval(after.ApproveParents, "родителей"));
        }

        if (before.ApproveStaff != after.ApproveStaff)
        {
            changes.Add(Approval(after.ApproveStaff, "сотрудников"));
        }

        if (before.DeletedUserMessages != after.DeletedUserMessages)
        {
            changes.Add("сообщения удалённых пользователей: " + (after.DeletedUserMessages == "remove" ? "удалять" : "оставлять"));
        }

        return [.. changes];
    }

    public async Task<IReadOnlyList<ClassDto>> ListClassesAsync(Guid schoolId, Guid me, bool includeArchived, CancellationToken ct)
    {
        await access.ActiveMemberAsync(schoolId, me, ct);
        return (await schools.ListClassesAsync(schoolId, includeArchived, ct)).Select(ClassDto.From).ToList();
    }

    public async Task<ClassDto> CreateClassAsync(Guid schoolId, Guid me, CreateClassBody body, CancellationToken ct)
    {
        return await database.InTransactionAsync(async s =>
        {
            // Access first: someone outside the school learns nothing, not even what a valid body looks like. Under the
            // school's lock, as every roster change: an admin removed meanwhile creates nothing.
            await access.AdminUnderLockAsync(s, schoolId, me, ct);
            var kind = body.Kind ?? "class";
            if (kind is not ("class" or "group"))
            {
                throw ChatException.Field("kind", "Тип должен быть class (класс) или group (группа).");
            }

            var name = Text.Required(body.Name, "name", 60, "Укажите название класса, например «5А» (до 60 символов).");
            if (body.Grade is { } g && (g < 1 || g > 12))
            {
                throw ChatException.Field("grade", "Параллель — число от 1 до 12.");
            }

            var year = body.SchoolYear ?? SchoolYear.Of(clock, await schools.RolledOverToAsync(s, schoolId, ct));
            if (year < 2000 || year > 2100)
            {
                throw ChatException.Field("schoolYear", "Неверный учебный год.");
            }

            var (grade, letter) = (body.Grade, Text.Optional(body.Letter, "letter", 10));
            if (grade is null && kind == "class")
            {
                (grade, letter) = ParseClassName(name);
            }

            try
            {
                var created = await schools.CreateClassAsync(s, schoolId, kind, name, grade, letter, year, ct);
                await audit.AppendAsync(s, schoolId, me, "class.created", created.Id, new { name, year }, ct);
                await roster.SyncAsync(s, schoolId, ct); // the class's pupils' and parents' chats exist from now on
                return ClassDto.From(created);
            }
            catch (PostgresException e) when (s.MarkFailed() || e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw new ChatException(ChatError.ClassNameTaken);
            }
        }, ct);
    }

    public async Task<ClassDto> UpdateClassAsync(Guid schoolId, Guid classId, Guid me, UpdateClassBody body, CancellationToken ct)
    {
        var (result, changes, chatsChanged) = await database.InTransactionAsync(async s =>
        {
            // The school's row is the lock that joins and moves into a class take too: no pupil arrives between the
            // count below and the archiving, and two archive/restore requests do not interleave.
            await access.AdminUnderLockAsync(s, schoolId, me, ct);
            var current = await schools.GetClassAsync(schoolId, classId, ct) ?? throw new ChatException(ChatError.ClassNotFound);
            if (current.Kind == "staff_room")
            {
                throw new ChatException(ChatError.StaffRoomFixed);
            }

            if (body.Grade is { } g && (g < 1 || g > 12))
            {
                throw ChatException.Field("grade", "Параллель — число от 1 до 12.");
            }

            var name = body.Name is null ? current.Name : Text.Required(body.Name, "name", 60, "Название класса — до 60 символов.");
            if (body.Archived == true && current.ArchivedAt is null && await schools.CountStudentsAsync(s, classId, ct) > 0)
            {
                // Archived pupils would be nowhere: in no class list, in a chat that takes no messages.
                throw new ChatException(ChatError.ClassNotEmpty);
            }

            var (grade, letter) = (body.Grade ?? current.Grade, body.Letter is null ? current.Letter : Text.Optional(body.Letter, "letter", 10));
            if (name != current.Name && body.Grade is null && current.Kind == "class" && ParseClassName(name) is { Grade: not null } parsed)
            {
                // A class renamed without a grade reads it from the new name, as at creation: «10Б» renamed «11Б» kept
                // grade 10, rolled over as «11Б → 11Б» and graduated a year late. A letter given with the name is kept.
                // A name without a grade in it («Пятый Б») keeps the grade the class has.
                (grade, letter) = (parsed.Grade, body.Letter is null ? parsed.Letter : letter);
            }

            try
            {
                var updated = await schools.UpdateClassAsync(s, schoolId, classId, name, grade, letter, body.Archived ?? current.ArchivedAt is not null, ct);
                await audit.AppendAsync(s, schoolId, me, "class.updated", classId, new { name, archived = body.Archived }, ct);
                var changes = await roster.SyncAsync(s, schoolId, ct);

                // The class's chats carry its name and are archived and restored with it.
                var chatsChanged = updated!.Name != current.Name || (updated.ArchivedAt is null) != (current.ArchivedAt is null);
                return (ClassDto.From(updated), changes, chatsChanged);
            }
            catch (PostgresException e) when (s.MarkFailed() || e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw new ChatException(ChatError.ClassNameTaken);
            }
        }, ct);
        await roster.ApplyAsync(changes);
        if (chatsChanged)
        {
            await roster.AnnounceClassChatsAsync(schoolId, [classId], ct);
        }

        return result;
    }

    public async Task<IReadOnlyList<MemberDto>> ListMembersAsync(Guid schoolId, Guid me, Guid? classId, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        if (classId is { } c && await schools.GetClassAsync(schoolId, c, ct) is null)
        {
            throw new ChatException(ChatError.ClassNotFound);
        }

        // Each member says whether I may write to them directly, so that «Написать лично» offers only those.
        var safeMode = (await schools.GetAsync(schoolId, ct))?.PupilSafeMode ?? true;
        MemberDto Dto(RosterEntry r) => MemberDto.From(r, DirectChatPolicy.MayReach(member, r.AsMembership(schoolId), safeMode));

        if (member.IsStaff)
        {
            return (await memberships.ListRosterAsync(schoolId, classId, ct)).Select(Dto).ToList();
        }

        // Pupils and parents see the staff, and the pupils and parents of their own (or their children's) classes.
        var roster = await memberships.ListRosterAsync(schoolId, null, ct);
        var classOf = roster.Where(r => r.StudentClassId is not null).ToDictionary(r => r.AccountId, r => r.StudentClassId!.Value);
        var myClasses = member.Children.Where(classOf.ContainsKey).Select(c => classOf[c]).ToHashSet();
        if (member.StudentClassId is { } own)
        {
            myClasses.Add(own);
        }

        bool InClass(RosterEntry r, Guid cls) =>
            r.StudentClassId == cls || r.ClassTeacherOf.Contains(cls) || r.Children.Any(c => classOf.TryGetValue(c, out var cc) && cc == cls);

        bool Visible(RosterEntry r) =>
            r.AccountId == me || r.IsAdmin || r.IsTeacher || myClasses.Any(cls => InClass(r, cls));

        return roster
            .Where(r => classId is { } cls ? (myClasses.Contains(cls) ? InClass(r, cls) : r.IsAdmin || r.IsTeacher) : Visible(r))
            .Select(Dto)
            .ToList();
    }

    public async Task SetAdminAsync(Guid schoolId, Guid accountId, Guid me, bool isAdmin, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct);
            var target = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            if (!isAdmin && target.IsAdmin && await memberships.CountAdminsAsync(s, schoolId, ct) <= 1)
            {
                throw new ChatException(ChatError.LastAdmin);
            }

            await audit.AppendAsync(s, schoolId, me, isAdmin ? "admin.appointed" : "admin.removed", accountId, null, ct);
            if (!isAdmin && target.IsAdmin && !target.IsTeacher)
            {
                // An admin who is not a teacher is staff no more: she leaves the staff as «Покинул школу» has it — her
                // chats handed over, out of the school, or kept as a parent only. Left with her chats and no role, she
                // owned chats with pupils no admin could take her out of, and read the school channel.
                var left = await lifecycle.StaffLeavesAsync(s, schoolId, accountId, ct);
                await audit.AppendAsync(s, schoolId, me, "staff.left", accountId, null, ct);
                return left;
            }

            await memberships.SetAdminAsync(s, schoolId, accountId, isAdmin, ct);
            return await roster.SyncAsync(s, schoolId, ct);
        }, ct);
        await roster.ApplyAsync(changes);
    }

    public async Task SetTeacherVerifiedAsync(Guid schoolId, Guid accountId, Guid me, bool verified, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct); // a staff member's leaving waits, or waits for this
            var target = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            if (!target.IsTeacher)
            {
                throw new ChatException(ChatError.NotATeacher);
            }

            if (!verified && target.ClassTeacherOf.Length > 0)
            {
                foreach (var classId in target.ClassTeacherOf)
                {
                    await memberships.RemoveClassTeacherAsync(s, schoolId, classId, accountId, ct);
                }
            }

            await memberships.SetTeacherVerifiedAsync(s, schoolId, accountId, verified ? me : null, ct);
            await audit.AppendAsync(s, schoolId, me, verified ? "teacher.verified" : "teacher.unverified", accountId, null, ct);
            return await roster.SyncAsync(s, schoolId, ct);
        }, ct);
        await roster.ApplyAsync(changes);
    }

    public async Task SetDirectorAsync(Guid schoolId, Guid accountId, Guid me, bool isDirector, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct); // a staff member's leaving waits, or waits for this
            var target = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            if (isDirector && !target.IsVerifiedTeacher)
            {
                throw new ChatException(ChatError.TeacherNotVerified);
            }

            await memberships.SetDirectorAsync(s, schoolId, accountId, isDirector, ct);
            await audit.AppendAsync(s, schoolId, me, isDirector ? "director.appointed" : "director.removed", accountId, null, ct);
            return await roster.SyncAsync(s, schoolId, ct);
        }, ct);
        await roster.ApplyAsync(changes);
    }

    public async Task SetClassTeacherAsync(Guid schoolId, Guid classId, Guid accountId, Guid me, bool attach, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct); // a staff member's leaving waits, or waits for this
            var cls = await schools.GetClassAsync(schoolId, classId, ct);
            if (cls is null || cls.Kind == "staff_room")
            {
                throw new ChatException(ChatError.ClassNotFound);
            }

            var target = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            if (attach)
            {
                if (!target.IsVerifiedTeacher)
                {
                    throw new ChatException(ChatError.TeacherNotVerified);
                }

                await memberships.AddClassTeacherAsync(s, schoolId, classId, accountId, ct);
            }
            else if (!await memberships.RemoveClassTeacherAsync(s, schoolId, classId, accountId, ct))
            {
                throw new ChatException(ChatError.MemberNotFound);
            }

            await audit.AppendAsync(s, schoolId, me, attach ? "class_teacher.attached" : "class_teacher.detached", accountId, new { classId }, ct);
            return await roster.SyncAsync(s, schoolId, ct);
        }, ct);
        await roster.ApplyAsync(changes);
    }

    public async Task<IReadOnlyList<AuditEventDto>> AuditAsync(Guid schoolId, Guid me, long? before, int? limit, CancellationToken ct)
    {
        await access.AdminAsync(schoolId, me, ct);
        var rows = await audit.ListAsync(schoolId, before, Math.Clamp(limit ?? 100, 1, 500), ct);
        return rows.Select(e => new AuditEventDto(e.Id, e.ActorId, e.ActorName, e.Action, e.SubjectId, e.Details, e.At, e.SubjectName)).ToList();
    }

    /// <summary>«5А» → (5, "А"); «10-Б» → (10, "Б"); anything else has no grade.</summary>
    public static (int? Grade, string? Letter) ParseClassName(string name)
    {
        var digits = new string(name.TakeWhile(char.IsAsciiDigit).ToArray());
        if (digits.Length is 0 or > 2 || !int.TryParse(digits, out var grade) || grade is < 1 or > 12)
        {
            return (null, null);
        }

        var rest = name[digits.Length..].Trim(' ', '-');
        return (grade, rest.Length is > 0 and <= 10 ? rest : null);
    }
}
