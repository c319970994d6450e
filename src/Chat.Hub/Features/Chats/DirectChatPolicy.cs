using Chat.Storage.Schools;

namespace Chat.Hub.Features.Chats;

/// <summary>
/// Who may write to whom inside one school (docs/policies.md). Staff may write to anyone in the school. A pupil writes
/// to classmates, staff and their own parents; a parent writes to staff and their own children. With safe mode on
/// (the default) only classmates, staff and the pupil's own parents can write to a pupil, call them or add them to a chat.
/// </summary>
public static class DirectChatPolicy
{
    public static bool MayReach(SchoolMembership writer, SchoolMembership target, bool pupilSafeMode)
    {
        if (writer.AccountId == target.AccountId)
        {
            return false;
        }

        var writerSide = writer.IsStaff
            || (writer.IsStudent && (target.IsStaff || SameClass(writer, target) || target.Children.Contains(writer.AccountId)))
            || (writer.IsParent && (target.IsStaff || writer.Children.Contains(target.AccountId)));
        if (!writerSide)
        {
            return false;
        }

        return !target.IsStudent || !pupilSafeMode || MayReachPupil(writer, target);
    }

    /// <summary>Safe mode for pupils: classmates, staff of the school and the pupil's own parents.</summary>
    public static bool MayReachPupil(SchoolMembership writer, SchoolMembership pupil) =>
        writer.IsStaff || SameClass(writer, pupil) || writer.Children.Contains(pupil.AccountId);

    private static bool SameClass(SchoolMembership a, SchoolMembership b) =>
        a.StudentClassId is not null && a.StudentClassId == b.StudentClassId;
}
