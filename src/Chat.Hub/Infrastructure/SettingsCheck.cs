using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Infrastructure;

/// <summary>
/// The problems found in one section's settings, each naming the full setting (<c>Section:Key</c>) and its value.
/// A rule's key is taken from the expression of the value it is given (<c>o.Poll</c> → <c>Section:Poll</c>), so a rule
/// names its property once.
/// </summary>
internal sealed class SettingProblems(string section)
{
    private readonly List<string> problems = [];

    public ValidateOptionsResult Result => problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);

    /// <summary>The full name of a setting of this section, from a property expression or a key.</summary>
    public string Name(string setting) => section + ":" + setting[(setting.LastIndexOf('.') + 1)..];

    /// <summary>A rate, limit, size, period or lifetime that is meaningless (or silently clamped) at zero or below.</summary>
    public void Positive<T>(T value, [CallerArgumentExpression(nameof(value))] string setting = "")
        where T : struct, IComparable<T> => Require(value.CompareTo(default) > 0, setting, value, "must be positive");

    /// <summary>A grace, reserve or interval where zero means "none" but a negative value means nothing.</summary>
    public void NotNegative<T>(T value, [CallerArgumentExpression(nameof(value))] string setting = "")
        where T : struct, IComparable<T> => Require(value.CompareTo(default) >= 0, setting, value, "must not be negative");

    /// <summary>An absolute URL with one of <paramref name="schemes"/>.</summary>
    public void Url(string? value, string[] schemes, [CallerArgumentExpression(nameof(value))] string setting = "") =>
        Require(IsUrl(value, schemes), setting, value, "must be an absolute " + string.Join(" or ", schemes) + " URL");

    /// <summary>A problem worded by the caller (it names the setting and its value itself).</summary>
    public void Add(string problem) => problems.Add(problem);

    /// <summary>Adds «<c>Section:Key</c> <paramref name="rule"/> (it is <paramref name="value"/>)» unless <paramref name="holds"/>.</summary>
    public void Require(bool holds, string setting, object? value, string rule)
    {
        if (!holds)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{Name(setting)} {rule} (it is {(value is null or "" ? "empty" : value)})"));
        }
    }

    public static bool IsUrl(string? value, string[] schemes) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && schemes.Contains(uri.Scheme, StringComparer.OrdinalIgnoreCase);
}

/// <summary>Settings of a section checked when the node starts: it does not start with them wrong, and says which.</summary>
internal static class SettingsCheck
{
    /// <summary>Binds <typeparamref name="T"/> to <paramref name="section"/> and checks it with <paramref name="rules"/> at start.</summary>
    public static OptionsBuilder<T> AddCheckedOptions<T>(
        this IServiceCollection services, IConfiguration configuration, string section, Action<T, SettingProblems> rules)
        where T : class
    {
        services.AddSingleton<IValidateOptions<T>>(new Check<T>(section, rules));
        return services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    private sealed class Check<T>(string section, Action<T, SettingProblems> rules) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var problems = new SettingProblems(section);
            rules(options, problems);
            return problems.Result;
        }
    }
}
