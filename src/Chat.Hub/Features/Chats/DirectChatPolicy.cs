using Chat.Storage.Schools;

namespace Chat.Hub.Features.Chats;

/// <summary>
/// Who may write to whom inside one school (docs/policies.md). Staff may write to anyone in the school and anyone may
/// write to staff; a pupil writes to their own parents, a parent to their own children. Who reaches a pupil is what the
/// school's safe mode decides: with it on (the default) only classmates, staff and the pupil's own parents can write to
/// a pupil, call them or add them to a chat; with it off, any member of the school can.
/// </summary>
public static class DirectChatPolicy
{
    public static bool MayReach(SchoolMembership writer, SchoolMembership target, bool pupilSafeMode)
    {
        if (writer.AccountId == target.AccountId)
        {
            return false;
        }

        if (target.IsStudent)
        {
            return !pupilSafeMode || MayReachPupil(writer, target);
        }

        return writer.IsStaff || target.IsStaff || target.Children.Contains(writer.AccountId);
    }

    /// <summary>Safe mode for pupils: classmates, staff of the school and the pupil's own parents.</summary>
    public static bool MayReachPupil(SchoolMembership writer, SchoolMembership pupil) =>
        writer.IsStaff || SameClass(writer, pupil) || writer.Children.Contains(pupil.AccountId);

    private static bool SameClass(SchoolMembership a, SchoolMembership b) =>
        a.StudentClassId is not null && a.StudentClassId == b.StudentClassId;
}
