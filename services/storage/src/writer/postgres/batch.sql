-- One batch of market events in one statement (PostgreSQL); see writer/postgres.rs.
--
-- Every data-modifying CTE runs once, to completion, inside the statement's own transaction,
-- so the batch is stored whole or not at all without BEGIN and COMMIT round trips.
-- Decimals arrive as their exact text and are cast to numeric here, which keeps their scale;
-- an optional decimal arrives as '' for "absent", a stream position as -1 for "absent" (a
-- stored position is never negative).
WITH trade_rows AS (
  SELECT *
  FROM unnest($1::int4[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[],
    $7::int8[], $8::int8[])
    AS t(market_id, trade_id, price, size, side, exchange_time_us, received_time_us, position)
),
new_trades AS (
  INSERT INTO "trades"
    ("market_id", "trade_id", "price", "size", "side", "exchange_time_us", "received_time_us",
     "position")
  SELECT market_id, trade_id, price::numeric, size::numeric, side::"char", exchange_time_us,
    received_time_us, NULLIF(position, -1)
  FROM trade_rows
  ON CONFLICT ("market_id", "exchange_time_us", "trade_id") DO NOTHING
  RETURNING "market_id", "trade_id", "price", "size", "exchange_time_us"
),
-- Candles of the trades that were new only, so a replayed batch never counts twice. The open
-- and close come from the earliest and latest trade by (exchange time, trade id), as
-- tickmesh_domain::Candle::merge decides them.
batch_candles AS (
  SELECT market_id,
    exchange_time_us - ((exchange_time_us % 60000000) + 60000000) % 60000000 AS open_time_us,
    price, size, exchange_time_us, trade_id
  FROM new_trades
),
merged AS (
  SELECT market_id, open_time_us,
    (array_agg(price ORDER BY exchange_time_us, trade_id))[1] AS open,
    max(price) AS high,
    min(price) AS low,
    (array_agg(price ORDER BY exchange_time_us DESC, trade_id DESC))[1] AS close,
    sum(size) AS volume,
    sum(price * size) AS quote_volume,
    count(*) AS trade_count,
    min(exchange_time_us) AS first_trade_time_us,
    (array_agg(trade_id ORDER BY exchange_time_us, trade_id))[1] AS first_trade_id,
    max(exchange_time_us) AS last_trade_time_us,
    (array_agg(trade_id ORDER BY exchange_time_us DESC, trade_id DESC))[1] AS last_trade_id
  FROM batch_candles
  GROUP BY market_id, open_time_us
),
-- The upsert merges into a stored candle under its row lock, so two writers of one candle
-- cannot lose each other's trades; rows go in key order, so two writers of several candles
-- lock them in the same order and cannot deadlock.
candles AS (
  INSERT INTO "candles_1m" AS c
    ("market_id", "open_time_us", "open", "high", "low", "close", "volume", "quote_volume",
     "trade_count", "first_trade_time_us", "first_trade_id", "last_trade_time_us",
     "last_trade_id")
  SELECT market_id, open_time_us, open, high, low, close, volume, quote_volume,
    trade_count, first_trade_time_us, first_trade_id, last_trade_time_us, last_trade_id
  FROM merged
  ORDER BY market_id, open_time_us
  ON CONFLICT ("market_id", "open_time_us") DO UPDATE SET
    "open" = CASE WHEN (EXCLUDED.first_trade_time_us, EXCLUDED.first_trade_id)
        < (c.first_trade_time_us, c.first_trade_id) THEN EXCLUDED.open ELSE c.open END,
    "first_trade_time_us" = CASE WHEN (EXCLUDED.first_trade_time_us, EXCLUDED.first_trade_id)
        < (c.first_trade_time_us, c.first_trade_id)
      THEN EXCLUDED.first_trade_time_us ELSE c.first_trade_time_us END,
    "first_trade_id" = CASE WHEN (EXCLUDED.first_trade_time_us, EXCLUDED.first_trade_id)
        < (c.first_trade_time_us, c.first_trade_id)
      THEN EXCLUDED.first_trade_id ELSE c.first_trade_id END,
    "close" = CASE WHEN (EXCLUDED.last_trade_time_us, EXCLUDED.last_trade_id)
        > (c.last_trade_time_us, c.last_trade_id) THEN EXCLUDED.close ELSE c.close END,
    "last_trade_time_us" = CASE WHEN (EXCLUDED.last_trade_time_us, EXCLUDED.last_trade_id)
        > (c.last_trade_time_us, c.last_trade_id)
      THEN EXCLUDED.last_trade_time_us ELSE c.last_trade_time_us END,
    "last_trade_id" = CASE WHEN (EXCLUDED.last_trade_time_us, EXCLUDED.last_trade_id)
        > (c.last_trade_time_us, c.last_trade_id)
      THEN EXCLUDED.last_trade_id ELSE c.last_trade_id END,
    "high" = GREATEST(c.high, EXCLUDED.high),
    "low" = LEAST(EXCLUDED.low, c.low),
    "volume" = c.volume + EXCLUDED.volume,
    "quote_volume" = c.quote_volume + EXCLUDED.quote_volume,
    "trade_count" = c.trade_count + EXCLUDED.trade_count
  RETURNING 1
),
new_tickers AS (
  INSERT INTO "tickers"
    ("market_id", "exchange_time_us", "received_time_us", "last", "open", "high", "low",
     "prev_close", "volume_24h", "quote_volume_24h", "best_bid", "best_ask", "position")
  SELECT market_id, exchange_time_us, received_time_us, last::numeric,
    NULLIF(open, '')::numeric, NULLIF(high, '')::numeric, NULLIF(low, '')::numeric,
    NULLIF(prev_close, '')::numeric, NULLIF(volume_24h, '')::numeric,
    NULLIF(quote_volume_24h, '')::numeric, NULLIF(best_bid, '')::numeric,
    NULLIF(best_ask, '')::numeric, NULLIF(position, -1)
  FROM unnest($9::int4[], $10::int8[], $11::int8[], $12::text[], $13::text[], $14::text[],
    $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
    $21::int8[])
    AS t(market_id, exchange_time_us, received_time_us, last, open, high, low,
      prev_close, volume_24h, quote_volume_24h, best_bid, best_ask, position)
  ON CONFLICT ("market_id", "exchange_time_us") DO NOTHING
  RETURNING 1
),
new_books AS (
  INSERT INTO "orderbook_snapshots"
    ("market_id", "exchange_time_us", "received_time_us", "bids", "asks")
  SELECT market_id, exchange_time_us, received_time_us, bids, asks
  FROM unnest($22::int4[], $23::int8[], $24::int8[], $25::text[], $26::text[])
    AS t(market_id, exchange_time_us, received_time_us, bids, asks)
  ON CONFLICT ("market_id", "exchange_time_us") DO NOTHING
  RETURNING 1
)
SELECT
  (SELECT count(*) FROM new_trades) AS trades_inserted,
  (SELECT count(*) FROM candles) AS candles_touched,
  (SELECT count(*) FROM new_tickers) AS tickers_stored,
  (SELECT count(*) FROM new_books) AS orderbooks_stored
