using System.Diagnostics;
using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Chat.Hub.Tests.Calls;

/// <summary>Runs only when asked (scripts/measure-broadcast-joins.sh sets CHAT_MEASURE_BROADCAST=1).</summary>
public sealed class BroadcastMeasurementFactAttribute : FactAttribute
{
    public BroadcastMeasurementFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CHAT_MEASURE_BROADCAST") != "1")
        {
            Skip = "broadcast join measurement: run scripts/measure-broadcast-joins.sh";
        }
    }
}

/// <summary>
/// Not a pass/fail test but a measurement: how long joining a broadcast takes as its audience grows — the school
/// channel gets N members (default 3000, <c>CHAT_BROADCAST_VIEWERS</c>), all but the last 1000 join one after another
/// (the time per join is printed every 500), then the last 1000 join 16 at a time (an assembly opening at nine), and a
/// viewer's <c>GetCall</c> is timed at the end. The joins go straight into the service (no hub connection each), so
/// the figures are the server's own work: the checks, the call's lock and the database. It asserts only that every
/// viewer is counted, so a broken run is not mistaken for a figure.
/// </summary>
public sealed class BroadcastJoinMeasurement(ChatApp app, ITestOutputHelper output) : IClassFixture<ChatApp>
{
    [BroadcastMeasurementFact]
    public async Task ViewersJoinAGrowingBroadcast()
    {
        var viewers = int.Parse(Environment.GetEnvironmentVariable("CHAT_BROADCAST_VIEWERS") ?? "3000", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(viewers > 1000, "CHAT_BROADCAST_VIEWERS must be more than 1000");
        var school = await new SchoolBuilder(app).CreateAsync();
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        var channel = Assert.Single(await admin.ChatsAsync(school.Id), c => c.Title == "Общешкольный канал");
        var ids = await BroadcastAudienceTests.AddViewersAsync(app, school.Id, channel.Id, viewers);
        var callId = (await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id)).Call.CallId;
        var calls = app.Services.GetRequiredService<CallService>();

        var step = Stopwatch.StartNew();
        for (var i = 0; i < viewers - 1000; i++)
        {
            await calls.JoinAsync(ids[i], callId, default);
            if ((i + 1) % 500 == 0)
            {
                output.WriteLine($"viewers {i + 1 - 500}–{i + 1}: {step.Elapsed.TotalMilliseconds / 500:F2} ms per join (one after another)");
                step.Restart();
            }
        }

        step.Restart();
        await Parallel.ForEachAsync(ids[(viewers - 1000)..], new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) => await calls.JoinAsync(id, callId, ct));
        output.WriteLine($"the last 1000 joining 16 at a time (from {viewers - 1000} viewers): {step.Elapsed.TotalSeconds:F1} s");

        step.Restart();
        for (var i = 0; i < 20; i++)
        {
            await admin.Connection.InvokeAsync<CallDto>("GetCall", callId);
        }

        output.WriteLine($"GetCall with {viewers} viewers: {step.Elapsed.TotalMilliseconds / 20:F1} ms");
        Assert.Equal(viewers, (await admin.Connection.InvokeAsync<CallDto>("GetCall", callId)).ViewerCount);
        await admin.Connection.InvokeAsync("EndCall", callId);
    }
}
