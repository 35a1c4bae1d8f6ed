use super::*;

const PW: &str = "hunter2-Sekrit";

#[test]
fn a_password_shows_as_stars_in_debug_and_display() {
    let s = Secret::new(PW);
    assert_eq!(format!("{s:?}"), "***");
    assert_eq!(s.to_string(), "***");
    assert_eq!(s.expose(), PW);
    let from: Secret = PW.into();
    assert_eq!(from, s);
}

#[test]
fn a_url_keeps_its_user_and_host_and_loses_its_password() {
    let cases = [
        (
            format!("redis://tickmesh:{PW}@redis.internal:6379/0"),
            "redis://tickmesh:***@redis.internal:6379/0",
        ),
        (
            format!("rediss://:{PW}@redis.internal:6380"),
            "rediss://:***@redis.internal:6380",
        ),
        (
            format!("postgres://app:{PW}@db:5432/tm?sslmode=verify-full&password={PW}"),
            "postgres://app:***@db:5432/tm?sslmode=verify-full&password=***",
        ),
        (
            format!("postgres://app@db/tm?password={PW}&sslrootcert=/ca.pem"),
            "postgres://app@db/tm?password=***&sslrootcert=/ca.pem",
        ),
        (
            format!("postgres://db/tm?sslmode=require&sslpassword={PW}"),
            "postgres://db/tm?sslmode=require&sslpassword=***",
        ),
        // An unescaped `@` in the password: everything up to the last one is user info.
        (format!("redis://u:{PW}@x@host:1"), "redis://u:***@host:1"),
        // Not a URL at all: libpq key=value pairs.
        (
            format!("host=db user=app password={PW} sslmode=require"),
            "host=db user=app password=*** sslmode=require",
        ),
        (
            "redis://127.0.0.1:6379".to_owned(),
            "redis://127.0.0.1:6379",
        ),
        ("sqlite://tickmesh.db".to_owned(), "sqlite://tickmesh.db"),
    ];
    for (url, shown) in cases {
        let secret = Secret::url(url.clone());
        assert_eq!(secret.to_string(), shown, "{url}");
        assert_eq!(format!("{secret:?}"), format!("{shown:?}"), "{url}");
        assert_eq!(redact_url(&url), shown);
        assert_eq!(secret.expose(), url);
    }
}

#[test]
fn options_keep_their_names_and_lose_credential_values() {
    let text = format!(
        "security.protocol=SASL_SSL,sasl.mechanism=SCRAM-SHA-512,sasl.username=tm,\
         sasl.password={PW},ssl.key.password={PW},sasl.jaas.config=x password=\"{PW}\""
    );
    let secret = Secret::options(text.clone());
    let shown = secret.to_string();
    assert_eq!(
        shown,
        "security.protocol=SASL_SSL,sasl.mechanism=SCRAM-SHA-512,sasl.username=tm,\
         sasl.password=***,ssl.key.password=***,sasl.jaas.config=***"
    );
    assert!(!format!("{secret:?}").contains(PW));
    assert_eq!(secret.expose(), text);
}

#[test]
fn a_comma_inside_a_value_stays_in_the_value() {
    let pairs = |text: &str| split_options(text).unwrap();
    let own = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        pairs("sasl.password=a,b c,d, linger.ms=5,"),
        own(&[("sasl.password", "a,b c,d"), ("linger.ms", "5")])
    );
    // Before something that reads as a new option, a backslash keeps the comma.
    assert_eq!(
        pairs(r"sasl.password=x\,y=z\\,acks=all"),
        own(&[("sasl.password", r"x,y=z\"), ("acks", "all")])
    );
    assert_eq!(pairs(" a = 1 ,, b=2 "), own(&[("a", "1"), ("b", "2")]));
    assert_eq!(pairs(""), own(&[]));
}

#[test]
fn a_malformed_option_is_reported_by_position_never_by_content() {
    let err = split_options(&format!("linger.ms=5,,{PW},acks=all")).unwrap_err();
    assert_eq!(err.position, 2);
    assert!(!err.to_string().contains(PW), "{err}");
    assert!(
        err.to_string().starts_with("option 2 is not key=value"),
        "{err}"
    );
    // Redacting what does not parse masks the part that does not.
    let shown = redact_options(&format!("{PW},linger.ms=5,sasl.password={PW}"));
    assert_eq!(shown, "***,linger.ms=5,sasl.password=***");
}

#[test]
fn credential_names_are_recognised() {
    for name in [
        "sasl.password",
        "ssl.key.password",
        "ssl.keystore.password",
        "sasl.jaas.config",
        "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.config",
        "ssl.key.pem",
        "password",
        "sslpassword",
        "PASSWORD",
        "pass",
        "token",
    ] {
        assert!(is_credential_name(name), "{name}");
    }
    for name in [
        "sasl.username",
        "linger.ms",
        "ssl.ca.location",
        "sslmode",
        "user",
        "passive",
    ] {
        assert!(!is_credential_name(name), "{name}");
    }
}
