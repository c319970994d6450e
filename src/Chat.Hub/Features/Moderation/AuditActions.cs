using System.Collections.Frozen;

namespace Chat.Hub.Features.Moderation;

/// <summary>
/// The audit log's actions and the words of their details in Russian, for the journal's CSV: the same words as the admin
/// page shows (<c>ACTION_NAMES</c>, <c>CHAT_ROLE_NAMES</c>, <c>AUDIENCE_NAMES</c>, <c>RESOLUTION_NAMES</c> and
/// <c>DELETED_MESSAGES</c> in wwwroot/js/admin.js, <c>ROLE_NAMES</c> in wwwroot/js/dom.js; <c>AuditActionsTests</c> keeps
/// them the same). <see cref="AuditDetails"/> writes the details with them.
/// </summary>
public static class AuditActions
{
    public static readonly FrozenDictionary<string, string> Names = new Dictionary<string, string>
    {
        ["school.registered"] = "школа зарегистрирована",
        ["school.updated"] = "сведения о школе изменены",
        ["school.suspended"] = "работа школы приостановлена",
        ["school.resumed"] = "работа школы возобновлена",
        ["class.created"] = "создан класс",
        ["class.updated"] = "класс изменён",
        ["class_teacher.attached"] = "назначен классный руководитель",
        ["class_teacher.detached"] = "классный руководитель откреплён",
        ["admin.appointed"] = "назначен администратор",
        ["admin.removed"] = "администратор снят",
        ["teacher.verified"] = "учитель подтверждён",
        ["teacher.unverified"] = "подтверждение учителя снято",
        ["director.appointed"] = "назначен директор",
        ["director.removed"] = "директор снят",
        ["invite.created"] = "создана ссылка-приглашение",
        ["invite.revoked"] = "ссылка отозвана",
        ["invite.revoked_unused"] = "неиспользованные ссылки отозваны",
        ["invite.accepted"] = "приглашение принято",
        ["join_request.created"] = "подана заявка",
        ["join_request.approved"] = "заявка одобрена",
        ["join_request.rejected"] = "заявка отклонена",
        ["chat.created"] = "создан чат",
        ["moderation.message_deleted"] = "сообщение удалено модератором",
        ["moderation.violation"] = "записано нарушение",
        ["moderation.blocked"] = "участник заблокирован",
        ["moderation.unblocked"] = "участник разблокирован",
        ["moderation.muted"] = "участнику запрещено писать",
        ["moderation.unmuted"] = "запрет писать снят",
        ["moderation.removed"] = "участник удалён из чата",
        ["moderation.case_opened"] = "открыт разбор чата (права модератора на 24 часа)",
        ["moderation.report_resolved"] = "жалоба рассмотрена",
        ["moderation.reported"] = "жалоба на сообщение",
        ["moderation.rules_reminded"] = "напоминание правил",
        ["student.moved"] = "ученик переведён в другой класс",
        ["student.left"] = "ученик выбыл из школы",
        ["parent.unlinked"] = "родитель отвязан от ученика",
        ["parent.left"] = "родитель сам вышел из школы",
        ["staff.left"] = "сотрудник покинул школу",
        ["school_year.rolled_over"] = "переход на новый учебный год",
        ["rule.saved"] = "правило школы сохранено",
        ["rule.archived"] = "правило школы удалено",
        ["chat_invite.created"] = "создана ссылка в чат",
        ["chat_invite.revoked"] = "ссылка в чат отозвана",
        ["chat_invite.accepted"] = "вступление в чат по ссылке",
        ["chat.updated"] = "настройки чата изменены",
        ["chat.member_role"] = "права участника чата изменены",
        ["chat.member_removed_by_roster"] = "участник выведен из чата, состав которого ведёт школа (был добавлен вручную)",
        ["invite.revoked_by_roster"] = "ссылка-приглашение отозвана: её автор больше не может приглашать",
        ["account.deleted"] = "аккаунт удалён",
    }.ToFrozenDictionary();

    /// <summary>A school role (<c>ROLE_NAMES</c> of dom.js): an invite's or a join request's role.</summary>
    public static readonly FrozenDictionary<string, string> SchoolRoleNames = new Dictionary<string, string>
    {
        ["admin"] = "администратор",
        ["director"] = "директор",
        ["teacher"] = "учитель",
        ["class_teacher"] = "классный руководитель",
        ["student"] = "ученик",
        ["parent"] = "родитель",
        ["chat"] = "участник чата",
    }.ToFrozenDictionary();

    /// <summary>A chat member's new role (<c>chat.member_role</c>): in a channel a moderator may post, a member only reads.</summary>
    public static readonly FrozenDictionary<string, string> ChatRoleNames = new Dictionary<string, string>
    {
        ["owner"] = "теперь владелец",
        ["moderator"] = "теперь модератор (в канале может писать)",
        ["member"] = "теперь рядовой участник (в канале только читает)",
    }.ToFrozenDictionary();

    /// <summary>Whom a channel is for (<c>chat.created</c> with an audience).</summary>
    public static readonly FrozenDictionary<string, string> AudienceNames = new Dictionary<string, string>
    {
        ["student"] = "ученики",
        ["parent"] = "родители",
        ["staff"] = "сотрудники",
    }.ToFrozenDictionary();

    /// <summary>How a report was resolved (<c>moderation.report_resolved</c>).</summary>
    public static readonly FrozenDictionary<string, string> ResolutionNames = new Dictionary<string, string>
    {
        ["deleted"] = "сообщение удалено",
        ["warned"] = "автор предупреждён",
        ["dismissed"] = "жалоба отклонена",
    }.ToFrozenDictionary();

    /// <summary>What became of a deleted account's messages in this school (<c>account.deleted</c>).</summary>
    public static readonly FrozenDictionary<string, string> DeletedMessages = new Dictionary<string, string>
    {
        ["keep"] = "сообщения остались с подписью «Удалённый пользователь»",
        ["remove"] = "сообщения удалены",
    }.ToFrozenDictionary();

    /// <summary>The action's Russian name; an action without one (written by a newer server) as its code.</summary>
    public static string Name(string action) => Names.TryGetValue(action, out var name) ? name : action;
}
