// The load runner grows with the messaging issue: scenarios, an open-loop sender, HdrHistogram latencies and reports.
Console.Error.WriteLine("Chat.LoadTests: no scenarios yet. See docs/performance.md for the plan.");
return 2;
