namespace Chat.Hub.Infrastructure;

/// <summary>Validation of free text fields: trimmed, bounded, with the field named in the error.</summary>
public static class Text
{
    public static string Required(string? value, string field, int maxLength, string message)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > maxLength || trimmed.Any(char.IsControl))
        {
            throw ChatException.Field(field, message);
        }

        return trimmed;
    }

    public static string? Optional(string? value, string field, int maxLength)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return null;
        }

        if (trimmed.Length > maxLength)
        {
            throw ChatException.Field(field, $"Не длиннее {maxLength} символов.");
        }

        if (HasForbiddenCharacters(trimmed))
        {
            throw ChatException.Field(field, "Текст содержит недопустимые символы.");
        }

        return trimmed;
    }

    /// <summary>
    /// Control characters other than line breaks and tabs (which multi-line text keeps). They are never text, and
    /// PostgreSQL refuses NUL outright: such input is refused before it reaches a statement, where its error would fail
    /// whatever else the statement carries (a batch of other people's messages).
    /// </summary>
    public static bool HasForbiddenCharacters(string value) => value.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t'));

    /// <summary>
    /// At most <paramref name="max"/> UTF-16 units of <paramref name="value"/>, never half of a character: a cut through a
    /// surrogate pair (an emoji) would leave a lone surrogate, which no UTF-8 encoder, and so no statement, accepts.
    /// </summary>
    public static string Cut(string value, int max)
    {
        if (value.Length <= max)
        {
            return value;
        }

        var end = max > 0 && char.IsHighSurrogate(value[max - 1]) ? max - 1 : max;
        return value[..end];
    }

    /// <summary>
    /// An avatar: a file of this server (<c>/api/files/…</c>, letters, digits, '-', '_', '.' and '/' only), so that no
    /// client loads a member's picture from outside the closed space (a path like <c>/\evil.example</c> is a foreign
    /// address to a browser). Null when empty.
    /// </summary>
    public static string? AvatarPath(string? value, string field)
    {
        var avatar = string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        if (avatar is not null && (avatar.Length > 500 || !avatar.StartsWith("/api/files/", StringComparison.Ordinal) || avatar.Contains("..", StringComparison.Ordinal)
                                   || !avatar.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/')))
        {
            throw ChatException.Field(field, "Аватар должен быть файлом, загруженным на этот сервер.");
        }

        return avatar;
    }

    public static string? OptionalUrl(string? value, string field)
    {
        var trimmed = Optional(value, field, 500);
        if (trimmed is null)
        {
            return null;
        }

        return Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri.ToString()
            : throw ChatException.Field(field, "Укажите ссылку, начинающуюся с https://.");
    }
}

/// <summary>The Russian school year starts on 1 September; the year is named by its first calendar year.</summary>
public static class SchoolYear
{
    /// <summary>The school year by the calendar.</summary>
    public static int Current(TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        return now.Month >= 9 ? now.Year : now.Year - 1;
    }

    /// <summary>
    /// A school's year: the calendar's, or the next one once the school has rolled over into it (from June to August a
    /// class made for the school belongs to the year that starts in September).
    /// </summary>
    public static int Of(TimeProvider clock, int? rolledOverTo) => Math.Max(Current(clock), rolledOverTo ?? 0);

    /// <summary>
    /// The year a rollover made now moves a school into: in spring and summer the one that starts this September; in
    /// the autumn (a rollover made late) the one that has just started.
    /// </summary>
    public static int RolloverTarget(TimeProvider clock) => clock.GetUtcNow().Year;

    /// <summary>«2026/27».</summary>
    public static string Name(int year) => $"{year}/{(year + 1) % 100:D2}";
}
