use super::*;

fn market(base: &str, quote: &str) -> Market {
    Market::new(
        Asset::parse(base).expect("valid base"),
        Asset::parse(quote).expect("valid quote"),
    )
    .expect("distinct assets")
}

#[test]
fn parses_every_user_and_exchange_spelling() {
    // (input, expected base, expected quote, who writes it)
    let cases = [
        ("KRW-BTC", "BTC", "KRW", "upbit and bithumb"),
        ("BTC-ETH", "ETH", "BTC", "upbit btc market"),
        ("USDT-BTC", "BTC", "USDT", "upbit usdt market"),
        ("KRW-1INCH", "1INCH", "KRW", "asset starting with a digit"),
        ("BTC_KRW", "BTC", "KRW", "bithumb legacy"),
        ("btc_krw", "BTC", "KRW", "korbit"),
        ("usdt_krw", "USDT", "KRW", "korbit usdt"),
        ("BTC/KRW", "BTC", "KRW", "canonical"),
        ("eth/btc", "ETH", "BTC", "canonical lower case"),
        ("BTC", "BTC", "KRW", "bare asset means krw"),
        ("xrp", "XRP", "KRW", "bare lower case"),
        ("  KRW-ETH \n", "ETH", "KRW", "surrounding space"),
    ];
    for (input, base, quote, who) in cases {
        assert_eq!(
            Market::parse(input),
            Ok(market(base, quote)),
            "{input} ({who})"
        );
    }
}

#[test]
fn rejects_malformed_spellings_with_the_accepted_forms() {
    for input in [
        "",
        "-",
        "KRW-",
        "_btc",
        "BTC/KRW/X",
        "BT C",
        "KRW-BTC.15",
        "한국-BTC",
    ] {
        let err = Market::parse(input).expect_err(input);
        assert!(matches!(err, MarketError::BadMarket(_)), "{input}: {err:?}");
    }
    assert_eq!(
        Market::parse("KRW-").unwrap_err().to_string(),
        "invalid market \"KRW-\": expected BTC/KRW, KRW-BTC, BTC_KRW, btc_krw or BTC"
    );
    assert!(matches!(
        Market::parse("KRW"),
        Err(MarketError::SameAsset(_))
    ));
    assert!(matches!(
        Market::parse("ABCDEFGHIJKLMNOP/KRW"),
        Err(MarketError::BadMarket(_))
    ));
}

#[test]
fn formats_back_to_each_exchange_spelling() {
    let btc = market("BTC", "KRW");
    assert_eq!(btc.to_string(), "BTC/KRW");
    assert_eq!(btc.to_exchange_symbol(Exchange::Upbit), "KRW-BTC");
    assert_eq!(btc.to_exchange_symbol(Exchange::Bithumb), "KRW-BTC");
    assert_eq!(btc.to_exchange_symbol(Exchange::Korbit), "btc_krw");
    let eth_btc = market("ETH", "BTC");
    assert_eq!(eth_btc.to_exchange_symbol(Exchange::Upbit), "BTC-ETH");
    assert_eq!(eth_btc.to_exchange_symbol(Exchange::Korbit), "eth_btc");
}

#[test]
fn exchange_symbols_round_trip_in_their_own_spelling() {
    for exchange in Exchange::ALL {
        for m in [
            market("BTC", "KRW"),
            market("1INCH", "KRW"),
            market("ETH", "BTC"),
        ] {
            let symbol = m.to_exchange_symbol(exchange);
            assert_eq!(
                Market::from_exchange_symbol(exchange, &symbol),
                Ok(m),
                "{exchange} {symbol}"
            );
            assert_eq!(Market::parse(&symbol), Ok(m), "{symbol}");
        }
    }
}

#[test]
fn exchange_symbols_in_a_foreign_spelling_are_malformed() {
    assert!(Market::from_exchange_symbol(Exchange::Upbit, "btc_krw").is_err());
    assert!(Market::from_exchange_symbol(Exchange::Korbit, "KRW-BTC").is_err());
    assert!(Market::from_exchange_symbol(Exchange::Bithumb, "BTC").is_err());
}

#[test]
fn market_is_small_and_copy() {
    fn assert_copy<T: Copy>() {}
    assert_copy::<Market>();
    assert!(std::mem::size_of::<Market>() <= 32);
}
