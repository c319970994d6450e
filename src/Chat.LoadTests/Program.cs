using System.Globalization;
using Chat.LoadTests;
using Chat.LoadTests.Floor;
using Chat.LoadTests.Reporting;

// Chat.LoadTests: see RunOptions.Usage and docs/performance.md.
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(RunOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

switch (args[0])
{
    case "list":
        foreach (var s in ScenarioSpec.All)
        {
            Console.WriteLine($"{s.Name,-16} {s.Title}. Goal: {s.Goal}");
        }

        return 0;
    case "probe":
        // Whether the host is quiet enough to measure on: compare with the probes in docs/performance.md.
        for (var i = 0; i < 3; i++)
        {
            Console.WriteLine(FormattableString.Invariant($"speed probe {MachineInfo.SpeedProbeMs():F0} ms"));
        }

        return 0;
    case "floor":
        var portIndex = Array.IndexOf(args, "--port");
        var secondsIndex = Array.IndexOf(args, "--seconds");
        var port = portIndex > 0 && portIndex + 1 < args.Length ? int.Parse(args[portIndex + 1], CultureInfo.InvariantCulture) : 5099;
        var seconds = secondsIndex > 0 && secondsIndex + 1 < args.Length ? int.Parse(args[secondsIndex + 1], CultureInfo.InvariantCulture) : 3600;
        return await FloorServer.RunAsync(port, seconds);
    case "run":
        RunOptions options;
        try
        {
            options = RunOptions.Parse(args);
            options.HubDll ??= Locate.HubDll();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or FileNotFoundException)
        {
            await Console.Error.WriteLineAsync(e.Message);
            await Console.Error.WriteLineAsync(RunOptions.Usage);
            return 2;
        }

        using (var stop = new CancellationTokenSource())
        {
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            var result = await LoadRunner.RunAsync(options, stop.Token);
            return result.Targets.Any(t => t.Error is not null) ? 1 : 0;
        }

    default:
        await Console.Error.WriteLineAsync(RunOptions.Usage);
        return 2;
}
