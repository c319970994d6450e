using System.Data;
using Dapper;

namespace Chat.Storage.Infrastructure;

/// <summary>Process-wide Dapper settings: snake_case columns to PascalCase members, and PostgreSQL arrays into records.</summary>
public static class DapperSetup
{
    private static int configured;

    public static void Configure()
    {
        if (Interlocked.Exchange(ref configured, 1) == 1)
        {
            return;
        }

        DefaultTypeMap.MatchNamesWithUnderscores = true;

        // The reader reports array columns as System.Array, which Dapper cannot match to a record constructor's Guid[].
        SqlMapper.AddTypeHandler(new ArrayHandler<Guid>());
        SqlMapper.AddTypeHandler(new ArrayHandler<string>());
        SqlMapper.AddTypeHandler(new ArrayHandler<long>());
    }

    private sealed class ArrayHandler<T> : SqlMapper.TypeHandler<T[]>
    {
        public override T[] Parse(object value) => value as T[] ?? [];

        public override void SetValue(IDbDataParameter parameter, T[]? value) => parameter.Value = value ?? (object)DBNull.Value;
    }
}
