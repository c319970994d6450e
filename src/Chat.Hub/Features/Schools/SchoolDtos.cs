using Chat.Storage.Schools;

namespace Chat.Hub.Features.Schools;

public sealed record SchoolDto(
    Guid Id,
    string Name,
    string Region,
    string Address,
    string? JournalUrl,
    string Status,
    bool ApproveStudents,
    bool ApproveParents,
    bool ApproveStaff,
    bool PupilSafeMode,
    string DeletedUserMessages,
    IReadOnlyList<string>? MyRoles)
{
    public static SchoolDto From(School s, SchoolMembership? me) =>
        new(s.Id, s.Name, s.Region, s.Address, s.JournalUrl, s.Status, s.ApproveStudents, s.ApproveParents, s.ApproveStaff, s.PupilSafeMode, s.DeletedUserMessages, me?.Roles);
}

public sealed record ClassDto(Guid Id, string Kind, string Name, int? Grade, string? Letter, int SchoolYear, bool Archived)
{
    public static ClassDto From(SchoolClass c) => new(c.Id, c.Kind, c.Name, c.Grade, c.Letter, c.SchoolYear, c.ArchivedAt is not null);
}

/// <summary>A school member as other members see them. Never carries a phone or e-mail.</summary>
public sealed record MemberDto(
    Guid AccountId,
    string DisplayName,
    string? AvatarUrl,
    IReadOnlyList<string> Roles,
    bool VerifiedTeacher,
    Guid? ClassId,
    IReadOnlyList<Guid> ClassTeacherOf,
    IReadOnlyList<Guid> Children,
    bool CanMessage)
{
    /// <param name="r">The member.</param>
    /// <param name="canMessage">Whether the person asking may open a direct chat with them (DirectChatPolicy).</param>
    public static MemberDto From(RosterEntry r, bool canMessage)
    {
        var roles = new List<string>(4);
        if (r.IsAdmin) roles.Add("admin");
        if (r.IsDirector) roles.Add("director");
        if (r.IsTeacher) roles.Add("teacher");
        if (r.ClassTeacherOf.Length > 0) roles.Add("class_teacher");
        if (r.StudentClassId is not null) roles.Add("student");
        if (r.Children.Length > 0) roles.Add("parent");
        return new MemberDto(r.AccountId, r.DisplayName, r.AvatarUrl, roles, r.IsVerifiedTeacher, r.StudentClassId, r.ClassTeacherOf, r.Children, canMessage);
    }
}

public sealed record UpdateSchoolBody(string? Name, string? Region, string? Address, string? JournalUrl, bool? ApproveStudents, bool? ApproveParents, bool? ApproveStaff, bool? PupilSafeMode, string? DeletedUserMessages = null);

public sealed record CreateClassBody(string? Name, string? Kind, int? Grade, string? Letter, int? SchoolYear);

public sealed record UpdateClassBody(string? Name, int? Grade, string? Letter, bool? Archived);

public sealed record AuditEventDto(long Id, Guid? ActorId, string? ActorName, string Action, Guid? SubjectId, string Details, DateTime At, string? SubjectName = null);
