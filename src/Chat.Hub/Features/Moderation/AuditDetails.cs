using System.Globalization;
using System.Text.Json;
using Chat.Hub.Features.Schools;

namespace Chat.Hub.Features.Moderation;

/// <summary>
/// An audit event's details in Russian, for the journal's CSV: the same text as the admin page's journal writes
/// (<c>auditDetails</c> in wwwroot/js/admin.js), parts joined by « · » — the chat's title, names, the rule, a class move
/// «5А → 6А», a role, a channel's audience, a reason, an end date, the subject's name — never a code, a phone or an
/// e-mail. The school's classes, chats and members are read once per export (<see cref="LoadAsync"/>); an id that is
/// none of them is left out, as the page leaves it out.
/// </summary>
public sealed class AuditDetails(
    IReadOnlyDictionary<Guid, string> classNames,
    IReadOnlyDictionary<Guid, string> chatTitles,
    IReadOnlyDictionary<Guid, string> memberNames,
    TimeZoneInfo zone)
{
    private static readonly CultureInfo Russian = CultureInfo.GetCultureInfo("ru-RU");

    /// <summary>
    /// The names the admin page uses: the school's classes (archived ones too), its chats (direct ones aside) and its
    /// members' display names (the members list carries no phone or e-mail); dates in <paramref name="zone"/>.
    /// </summary>
    public static async Task<AuditDetails> LoadAsync(
        Guid schoolId, Guid me, SchoolService schools, ModerationService moderation, TimeZoneInfo zone, CancellationToken ct)
    {
        var classes = await schools.ListClassesAsync(schoolId, me, includeArchived: true, ct);
        var chats = await moderation.SchoolChatsAsync(me, schoolId, ct);
        var members = await schools.ListMembersAsync(schoolId, me, null, ct);
        return new AuditDetails(
            classes.ToDictionary(c => c.Id, c => c.Name),
            chats.ToDictionary(c => c.Id, c => c.Title),
            members.ToDictionary(m => m.AccountId, m => m.DisplayName),
            zone);
    }

    /// <summary>The details of one event (its action, subject and stored JSON) in Russian; empty when they say nothing.</summary>
    public string Describe(string action, Guid? subjectId, string? details, string? subjectName = null)
    {
        var d = Parse(details);
        JsonElement? Get(string name) => d is { } o && o.TryGetProperty(name, out var v) ? v : null;

        var parts = new List<string>();
        if (Truthy(Get("name")) || Truthy(Get("title")))
        {
            parts.Add(Text(Truthy(Get("name")) ? Get("name") : Get("title")));
        }
        else if (Truthy(Get("chatId")) && Lookup(chatTitles, Get("chatId")) is { } chat)
        {
            parts.Add($"«{chat}»");
        }

        if (Truthy(Get("number")) && Truthy(Get("text")))
        {
            parts.Add($"{Text(Get("number"))}. {Text(Get("text"))}");
        }

        if (Truthy(Get("from")) && Truthy(Get("to")))
        {
            parts.Add($"{Lookup(classNames, Get("from")) ?? "?"} → {Lookup(classNames, Get("to")) ?? "?"}");
        }

        if (Truthy(Get("role")))
        {
            var role = Text(Get("role"));
            parts.Add(action == "chat.member_role"
                ? AuditActions.ChatRoleNames.GetValueOrDefault(role, "роль изменена")
                : AuditActions.SchoolRoleNames.GetValueOrDefault(role, role));
        }

        if (Get("audience") is { ValueKind: JsonValueKind.Array } audience && audience.GetArrayLength() > 0)
        {
            parts.Add("для: " + string.Join(", ", audience.EnumerateArray().Select(r => AuditActions.AudienceNames.GetValueOrDefault(Text(r), Text(r)))));
        }

        if (Get("slowModeSeconds") is { ValueKind: JsonValueKind.Number } slow && slow.GetDouble() > 0)
        {
            parts.Add($"медленный режим: {Text(slow)} с");
        }

        if (Truthy(Get("rulesChanged")))
        {
            parts.Add("правила чата изменены");
        }

        if (Truthy(Get("resolution")))
        {
            parts.Add(AuditActions.ResolutionNames.GetValueOrDefault(Text(Get("resolution")), ""));
        }

        if (Get("settings") is { ValueKind: JsonValueKind.Array } settings)
        {
            // The school's switches that changed, written in Russian when they changed (SchoolService.SettingChanges).
            parts.AddRange(settings.EnumerateArray().Select(e => Text(e)));
        }

        if (Truthy(Get("messages")) && AuditActions.DeletedMessages.TryGetValue(Text(Get("messages")), out var messages))
        {
            parts.Add(messages);
        }

        if (action == "invite.revoked_unused")
        {
            var cls = subjectId is { } c ? classNames.GetValueOrDefault(c) : null;
            var count = Get("count") is { ValueKind: not JsonValueKind.Null } n ? Text(n) : "0";
            parts.Add((string.IsNullOrEmpty(cls) ? "" : cls + ": ") + $"отозвано ссылок: {count}");
        }

        if (Truthy(Get("rule")))
        {
            parts.Add("правило " + Text(Get("rule")));
        }

        if (Truthy(Get("reason")))
        {
            parts.Add("причина: " + Text(Get("reason")));
        }

        if (Truthy(Get("until")) && Local(Get("until")) is { } until)
        {
            parts.Add("до " + until.ToString("dd.MM.yyyy", CultureInfo.InvariantCulture));
        }

        if (Truthy(Get("closesAt")) && Local(Get("closesAt")) is { } closesAt)
        {
            // As the page's dateTime (Intl ru-RU, day and long month with the time): «27 ноября в 16:04».
            parts.Add("до " + closesAt.ToString("d MMMM 'в' HH:mm", Russian));
        }

        // The person it is about, by the member list or, gone from the school since (a pupil who left, a refused
        // applicant), by the name the event's row carries.
        if ((subjectId is { } subject && memberNames.GetValueOrDefault(subject) is { Length: > 0 } name ? name : subjectName) is { Length: > 0 } who)
        {
            parts.Add(who);
        }

        return string.Join(" · ", parts.Where(p => p.Length > 0));
    }

    /// <summary>The details' object; anything else (not JSON, not an object) says nothing, as on the page.</summary>
    private static JsonElement? Parse(string? details)
    {
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrEmpty(details) ? "{}" : details);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether a value counts as present, as JavaScript's truthiness has it (no value, null, false, 0 and "" do not).</summary>
    private static bool Truthy(JsonElement? v) => v?.ValueKind switch
    {
        JsonValueKind.String => v.Value.GetString()!.Length > 0,
        JsonValueKind.Number => v.Value.GetDouble() != 0,
        JsonValueKind.True or JsonValueKind.Object or JsonValueKind.Array => true,
        _ => false,
    };

    /// <summary>A value as the page writes it into text: a string as it is, anything else as its JSON.</summary>
    private static string Text(JsonElement? v) => v is { ValueKind: JsonValueKind.String } s ? s.GetString()! : v?.GetRawText() ?? "";

    /// <summary>The name an id (a string holding a GUID) has in a map, or null; an empty name is none.</summary>
    private static string? Lookup(IReadOnlyDictionary<Guid, string> names, JsonElement? id) =>
        Guid.TryParse(Text(id), out var g) && names.GetValueOrDefault(g) is { Length: > 0 } name ? name : null;

    /// <summary>A stored UTC time (ISO 8601) in the export's time zone, or null when it is not one.</summary>
    private DateTimeOffset? Local(JsonElement? v) =>
        DateTimeOffset.TryParse(Text(v), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? TimeZoneInfo.ConvertTime(t, zone) : null;
}
