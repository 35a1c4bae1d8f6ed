#!/usr/bin/env bash
# Bytes per stored row on PostgreSQL: migrates a scratch database with the tickmesh binary,
# fills it with the same synthetic market data every time, and prints, per market-data table,
# its size (heap, TOAST and indexes: pg_total_relation_size, summed over pg_partition_tree
# for a partitioned table) divided by its rows. Run it at two commits to compare their schemas.
#
#   scripts/row-bytes.sh [ROWS] [TICKMESH_BINARY]
#
# ROWS (default 1000000) trades and as many tickers, over 20 markets and three days; a tenth
# as many order book snapshots of 15 levels a side. The server is TICKMESH_TEST_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres); psql must be on the PATH. The binary
# defaults to the debug build in CARGO_TARGET_DIR (or target/).
set -euo pipefail

rows="${1:-1000000}"
binary="${2:-${CARGO_TARGET_DIR:-target}/debug/tickmesh}"
admin="${TICKMESH_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
[ -x "$binary" ] || {
    echo "error: no tickmesh binary at $binary; build it with cargo build -p tickmesh" >&2
    exit 1
}
name="tickmesh_row_bytes_$$"
url="${admin%/*}/$name"
psql -q "$admin" -c "CREATE DATABASE $name" >/dev/null
trap 'psql -q "$admin" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null' EXIT
TICKMESH__LOG__FILTER=warn "$binary" migrate --database-url "$url" >/dev/null

# Three days from 2026-12-06T00:00Z; prices of a KRW market near 142,000,000, sizes with eight
# places, every row with a stream position.
psql -q -v ON_ERROR_STOP=1 "$url" <<SQL
-- Daily partitions for the data where the schema partitions (storage makes them otherwise).
DO \$\$ DECLARE t text; d int; BEGIN
  FOREACH t IN ARRAY ARRAY['trades', 'tickers', 'orderbook_snapshots'] LOOP
    CONTINUE WHEN (SELECT relkind FROM pg_class WHERE relname = t) <> 'p';
    FOR d IN 0..3 LOOP
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
        t || '_p2026120' || (6 + d), t, 1796515200000000 + d * 86400000000::bigint,
        1796515200000000 + (d + 1) * 86400000000::bigint);
    END LOOP;
  END LOOP;
END \$\$;
INSERT INTO markets (exchange, market)
SELECT 'upbit', 'C' || i || '/KRW' FROM generate_series(1, 20) i;
INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us,
                    received_time_us, position)
SELECT 1 + i % 20, 1000000000 + i, (142000000 + (i % 5000) * 1000)::numeric,
       round(((i * 7919) % 100000000)::numeric / 100000000, 8),
       CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END,
       1796515200000000 + i * (259200000000 / $rows),
       1796515200000000 + i * (259200000000 / $rows) + 150000,
       (1796515200000 + i * (259200000 / $rows)) * 1000000 + i % 1000
FROM generate_series(1::bigint, $rows) i;
INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last, open, high, low,
                     prev_close, volume_24h, quote_volume_24h, best_bid, best_ask, position)
SELECT 1 + i % 20, 1796515200000000 + i * (259200000000 / $rows),
       1796515200000000 + i * (259200000000 / $rows) + 1000,
       (142000000 + (i % 5000) * 1000)::numeric, 141000000, 143500000, 140200000, 141000000,
       round((1000000 + i % 777777)::numeric / 1000, 8),
       round((141000000000000 + i)::numeric / 1000, 8),
       (141999000 + (i % 5000) * 1000)::numeric, (142001000 + (i % 5000) * 1000)::numeric,
       (1796515200000 + i * (259200000 / $rows)) * 1000000 + 500 + i % 500
FROM generate_series(1::bigint, $rows) i;
INSERT INTO orderbook_snapshots (market_id, exchange_time_us, received_time_us, bids, asks)
SELECT 1 + i % 20, 1796515200000000 + i * (2592000000000 / $rows),
       1796515200000000 + i * (2592000000000 / $rows) + 1000,
       (SELECT '[' || string_agg('["' || (142000000 - l * 1000) || '","0.' || lpad(((i * l) % 99999999)::text, 8, '0') || '"]', ',') || ']' FROM generate_series(1, 15) l),
       (SELECT '[' || string_agg('["' || (142000000 + l * 1000) || '","0.' || lpad(((i * l) % 99999999)::text, 8, '0') || '"]', ',') || ']' FROM generate_series(1, 15) l)
FROM generate_series(1::bigint, $rows / 10) i;
VACUUM ANALYZE;
SQL

for table in trades tickers orderbook_snapshots; do
    psql -q -A -t -F ' ' -v ON_ERROR_STOP=1 "$url" -c "
        SELECT '$table', count(*) AS rows, s.bytes, round(s.bytes / count(*), 1) AS bytes_per_row
        FROM $table,
             (SELECT coalesce((SELECT sum(pg_total_relation_size(relid))
                               FROM pg_partition_tree('$table')),
                              pg_total_relation_size('$table')) AS bytes) s
        GROUP BY s.bytes"
done | (echo 'table rows bytes bytes_per_row'; cat) | column -t
