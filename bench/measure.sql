-- bench/measure.sql: helpers of bench/run.sh.  bench.time(sql) runs one
-- statement and returns its wall-clock time in seconds.
CREATE FUNCTION bench.time(sql text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE sql;
    RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric, 6);
END $$;
CREATE TABLE bench.result (op text PRIMARY KEY, n bigint, ext_s numeric, floor_s numeric,
                           goal text, note text);
CREATE FUNCTION bench.fmt(s numeric) RETURNS text LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN s >= 1 THEN round(s, 2) || ' s' ELSE round(s * 1000, 1) || ' ms' END;
