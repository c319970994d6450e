using Chat.Hub.Features.Accounts;
using Chat.Hub.Infrastructure;
using Chat.Storage.Accounts;
using Chat.Storage.Infrastructure;
using Npgsql;

namespace Chat.Hub;

/// <summary>
/// Operations run from the command line instead of starting the server:
/// <c>migrate</c>, <c>operator grant|revoke --phone +7… | --email …</c>, and <c>loadtest-seed</c> (<see cref="LoadTestSeed"/>).
/// </summary>
internal static class ChatCommands
{
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "migrate" or "operator" or LoadTestSeed.Command;

    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        var connectionString = configuration.GetConnectionString("Chat");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            await Console.Error.WriteLineAsync("ConnectionStrings__Chat is not set.");
            return 2;
        }

        DapperSetup.Configure();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        if (args[0] == LoadTestSeed.Command && !args.Contains(LoadTestSeed.ConfirmFlag))
        {
            await Console.Error.WriteLineAsync($"{LoadTestSeed.Command} fills the database with fake people; it runs only with {LoadTestSeed.ConfirmFlag}.");
            return 2;
        }

        var applied = await new Migrator(dataSource).ApplyAsync(CancellationToken.None);
        foreach (var name in applied)
        {
            Console.WriteLine($"applied migration {name}");
        }

        if (args[0] == LoadTestSeed.Command)
        {
            return await LoadTestSeed.RunAsync(args, configuration);
        }

        if (args[0] == "migrate")
        {
            Console.WriteLine("database is up to date");
            return 0;
        }

        if (args.Length < 2 || args[1] is not ("grant" or "revoke"))
        {
            await Console.Error.WriteLineAsync("usage: operator grant|revoke --phone +79001234567 | --email someone@example.org [--name \"Имя\"]");
            return 2;
        }

        string? Option(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        SignInIdentity identity;
        try
        {
            identity = SignInIdentity.Parse(Option("--phone"), Option("--email"));
        }
        catch (ChatException e)
        {
            await Console.Error.WriteLineAsync(e.FieldErrors?.Values.FirstOrDefault()?.FirstOrDefault() ?? e.Message);
            return 2;
        }

        var accounts = new AccountStore(dataSource);
        var database = new ChatDatabase(dataSource);
        var account = await database.InTransactionAsync(
            s => accounts.GetOrCreateAsync(s, identity.Phone, identity.Email, Option("--name") ?? "Оператор платформы", CancellationToken.None),
            CancellationToken.None);
        await accounts.SetOperatorAsync(account.Id, args[1] == "grant", CancellationToken.None);
        Console.WriteLine(args[1] == "grant"
            ? $"{identity.Value} is a platform operator now; sign in with a one-time code to register schools."
            : $"{identity.Value} is no longer a platform operator.");
        return 0;
    }
}
