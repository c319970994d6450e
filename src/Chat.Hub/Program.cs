using Chat.Hub;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Files;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Lifecycle;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Features.Platform;
using Chat.Hub.Features.Polls;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Infrastructure;
using Microsoft.AspNetCore.Rewrite;
using Scalar.AspNetCore;

// Command-line operations (operator accounts, migrations) run against the same configuration and exit.
if (ChatCommands.IsCommand(args))
{
    return await ChatCommands.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
var connectionString = builder.Configuration.GetConnectionString("Chat")
    ?? throw new InvalidOperationException("ConnectionStrings:Chat is not set. Start the server with ./run.sh, or set ConnectionStrings__Chat.");
var redisConnection = builder.Configuration.GetConnectionString("Redis");

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddCheckedOptions<SiteOptions>(builder.Configuration, "Site", (o, p) => p.Url(o.PublicUrl, ["http", "https"]));
builder.Services.ConfigureHttpJsonOptions(o => ChatJson.Configure(o.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddChatStorage(connectionString);
builder.Services.AddChatAuth(builder.Configuration);
builder.Services.AddChatErrors();
builder.Services.AddChatFeatures(builder.Configuration);
builder.Services.AddPolls(builder.Configuration);
builder.Services.AddFiles(builder.Configuration);
Chat.Hub.Features.Calls.CallsSetup.AddChatCalls(builder.Services, builder.Configuration);
builder.Services.AddChatRealtime(builder.Configuration, redisConnection);
builder.Services.AddChatHealth(withRedis: !string.IsNullOrWhiteSpace(redisConnection));
builder.Services.AddChatCors(builder.Configuration);
builder.Services.AddOpenApi();

var app = builder.Build();
await app.Services.GetRequiredService<Migrator>().ApplyAsync(app.Lifetime.ApplicationStopping);

app.UseExceptionHandler();
app.UseChatStatusCodes();

// The web client (docs/web-client.md): static files from wwwroot; an invite link /join/{token} opens its page.
app.UseRewriter(new RewriteOptions().AddRewrite("^join/[A-Za-z0-9_-]{16,64}/?$", "index.html", skipRemainingRules: true));
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseCors();
app.UseHubOriginCheck();
app.UseAuthentication();
app.UseAuthorization();

app.MapHealthApi();
app.MapAccountsApi();
app.MapPlatformApi();
app.MapSchoolsApi();
app.MapInvitesApi();
app.MapChatsApi();
app.MapModerationApi();
app.MapLifecycleApi();
app.MapPollsApi();
app.MapFilesApi();
app.MapChatHub();
app.MapOpenApi().AllowAnonymous();
if (app.Environment.IsDevelopment())
{
    app.MapScalarApiReference("/api-docs").AllowAnonymous();
}

await app.RunAsync();
return 0;

/// <summary>Exposed for WebApplicationFactory in the tests.</summary>
public partial class Program;
