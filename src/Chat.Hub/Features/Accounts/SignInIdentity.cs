using System.Text.RegularExpressions;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Accounts;

/// <summary>A phone number (E.164) or an e-mail address, normalised so that one person has one identity.</summary>
public sealed partial record SignInIdentity(string Kind, string Value)
{
    public string? Phone => Kind == "phone" ? Value : null;

    public string? Email => Kind == "email" ? Value : null;

    /// <summary>For logs: enough to tell two people apart, not enough to reach them.</summary>
    public string Masked => Kind == "phone" ? "***" + Value[^2..] : "***@" + Value[(Value.IndexOf('@') + 1)..];

    public static SignInIdentity Parse(string? phone, string? email)
    {
        if (!string.IsNullOrWhiteSpace(phone) && !string.IsNullOrWhiteSpace(email))
        {
            throw ChatException.Field("phone", "Укажите либо телефон, либо e-mail.");
        }

        if (!string.IsNullOrWhiteSpace(phone))
        {
            return new("phone", NormalizePhone(phone) ?? throw ChatException.Field("phone", "Неверный номер телефона. Пример: +7 900 123-45-67."));
        }

        if (!string.IsNullOrWhiteSpace(email))
        {
            return new("email", NormalizeEmail(email) ?? throw ChatException.Field("email", "Неверный адрес электронной почты."));
        }

        throw ChatException.Field("phone", "Укажите телефон или e-mail.");
    }

    public static string? NormalizePhone(string raw)
    {
        if (raw.Length > 32)
        {
            return null;
        }

        var digits = new string(raw.Where(char.IsAsciiDigit).ToArray());
        var plus = raw.TrimStart().StartsWith('+');
        if (!plus && digits.Length == 11 && digits[0] == '8')
        {
            digits = "7" + digits[1..]; // Russian trunk prefix: 8 900 … is +7 900 …
        }
        else if (!plus && digits.Length == 10 && digits[0] == '9')
        {
            digits = "7" + digits;
        }

        return PhonePattern().IsMatch(raw) && digits.Length is >= 10 and <= 15 ? "+" + digits : null;
    }

    public static string? NormalizeEmail(string raw)
    {
        var value = raw.Trim().ToLowerInvariant();
        return value.Length <= 254 && EmailPattern().IsMatch(value) ? value : null;
    }

    [GeneratedRegex(@"^\s*\+?[\d\s\-\(\)]{10,25}\s*$")]
    private static partial Regex PhonePattern();

    [GeneratedRegex(@"^[^@\s\p{Cc}]+@[^@\s\p{Cc}]+\.[^@\s\p{Cc}]+$")]
    private static partial Regex EmailPattern();
}
