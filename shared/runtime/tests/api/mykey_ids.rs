//! MyKey IDs: the ID type (property tests), the lifecycle through the router (create, read,
//! suggestions, change, revoke, lapsed persons, access, audit), the collision retry, and
//! uniqueness under concurrency.

use crate::helpers;
use std::collections::HashSet;

use crate::helpers::{OPERATOR, TestCitizen, all_records, harness};
use mkpf_core::audit::{Actor, Context};
use mkpf_core::mykey::id::{ALPHABET, LEN, MyKeyId};
use mkpf_core::mykey::lifecycle::{self, CreateError};
use mkpf_core::mykey::person::{self, PersonId};
use mkpf_core::ports::store::{ItemExt, Key, Query, SkCond};
use mkpf_core::tables::PEOPLE;
use proptest::prelude::*;
use serde_json::{Value, json};

const PATH: &str = "/v1/mykey-ids";
const ME: &str = "/v1/mykey-ids/me";
const SUGGESTIONS: &str = "/v1/mykey-ids/me/suggestions";

fn in_alphabet(s: &str) -> bool {
    s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b))
}

fn ctx_of(pid: &PersonId) -> Context {
    Context::new(Actor::new("citizen", Some(pid.as_str())))
}

async fn create(h: &helpers::Harness, c: &TestCitizen) -> String {
    let r = h.call("POST", PATH).bearer(&c.token).send().await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["mykey_id"].as_str().unwrap().to_owned()
}

async fn change(h: &helpers::Harness, c: &TestCitizen, to: &str) -> helpers::Resp {
    h.call("PUT", ME).bearer(&c.token).json(json!({ "mykey_id": to })).send().await
}

/// A valid ID nobody in a fresh store has (random IDs are drawn from the same space, so pick one
/// from the CSPRNG too and make sure).
async fn free_id(h: &helpers::Harness) -> String {
    loop {
        let id = MyKeyId::generate();
        if !lifecycle::is_claimed(&h.app, &id).await.unwrap() {
            return id.as_str().to_owned();
        }
    }
}

// ---- the ID type --------------------------------------------------------------------------

proptest! {
    #[test]
    fn valid_ids_round_trip_and_lower_case_is_normalised(s in "[2-9A-HJKMNP-Z]{8}") {
        let id = MyKeyId::parse(&s).unwrap();
        prop_assert_eq!(id.as_str(), s.as_str());
        let lower = MyKeyId::parse(&s.to_ascii_lowercase()).unwrap();
        prop_assert_eq!(lower.as_str(), s.as_str());
        prop_assert_eq!(MyKeyId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn arbitrary_strings_never_panic_and_only_valid_ones_parse(s in "\\PC{0,12}|[0-9A-Za-z]{6,10}") {
        match MyKeyId::parse(&s) {
            Ok(id) => {
                prop_assert!(in_alphabet(id.as_str()));
                prop_assert_eq!(id.as_str(), s.to_ascii_uppercase());
            }
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }

    #[test]
    fn a_look_alike_anywhere_is_refused(s in "[2-9A-HJKMNP-Z]{7}", pos in 0usize..8, bad in "[01ILOilo]") {
        let mut t = s.clone();
        t.insert_str(pos, &bad);
        let why = MyKeyId::parse(&t).unwrap_err();
        prop_assert!(why.contains("look-alike"), "{}", why);
    }
}

#[test]
fn generated_ids_parse_and_stay_in_the_alphabet() {
    let mut seen = HashSet::new();
    let mut counts = [0u32; 31];
    for _ in 0..20_000 {
        let id = MyKeyId::generate();
        assert!(in_alphabet(id.as_str()), "{id}");
        assert_eq!(MyKeyId::parse(id.as_str()).unwrap(), id);
        for b in id.as_str().bytes() {
            counts[ALPHABET.iter().position(|&a| a == b).unwrap()] += 1;
        }
        seen.insert(id);
    }
    assert_eq!(seen.len(), 20_000, "8.5e11 IDs: 20,000 draws do not repeat");
    // 160,000 symbols, 5,161 each on average (σ ≈ 71). A modulo-biased generator (byte % 31)
    // would draw the first eight symbols 9/8 as often: about 45,000 of them instead of 41,290
    // (σ ≈ 175 for the sum). Bounds of about 6–7σ: a fair generator essentially never fails them.
    for (i, &c) in counts.iter().enumerate() {
        assert!((4_660..5_660).contains(&c), "symbol {} drawn {c} times", ALPHABET[i] as char);
    }
    let first_eight: u32 = counts[..8].iter().sum();
    assert!((40_240..42_340).contains(&first_eight), "the first eight symbols drawn {first_eight} times");
}

// ---- create and read ------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_201_then_the_same_id_with_200() {
    let h = harness();
    let c = h.citizen().await;
    let r = h.call("POST", PATH).bearer(&c.token).send().await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["mykey_id"].as_str().unwrap().to_owned();
    assert!(in_alphabet(&id), "{id}");
    assert_eq!(r.body["lapsed"], false);
    assert_eq!(r.body["history"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["history"][0]["mykey_id"], id.as_str());
    assert_eq!(r.body["history"][0]["state"], "active");
    assert_eq!(r.body["history"][0]["created_at"], "2026-11-25T21:00:00+09:00");
    assert_eq!(r.body["history"][0]["retired_at"], Value::Null);

    h.clock.advance(time::Duration::minutes(5));
    let again = h.call("POST", PATH).bearer(&c.token).send().await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, r.body, "the same view, unchanged");
    assert_eq!(person::profile(&h.app, &c.person_id).await.unwrap().unwrap().mykey_id.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn me_shows_the_linked_certificates_and_standing() {
    let h = harness();
    let c = h.citizen().await;
    let r = h.call("GET", ME).bearer(&c.token).send().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["mykey_id"], Value::Null);
    assert_eq!(r.body["lapsed"], false);
    assert_eq!(r.body["history"], json!([]));
    let certs = r.body["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["issuer"], c.cert.issuer.as_str());
    assert_eq!(certs[0]["serial"], c.cert.serial.as_str());
    assert_eq!(certs[0]["state"], "valid");
    assert_eq!(certs[0]["linked_at"], "2026-11-25T21:00:00+09:00");
    assert!(certs[0]["expires_at"].as_str().unwrap().ends_with("+09:00"));

    let id = create(&h, &c).await;
    let r = h.call("GET", ME).bearer(&c.token).send().await;
    assert_eq!(r.body["mykey_id"], id.as_str());
}

// ---- change ---------------------------------------------------------------------------------

#[tokio::test]
async fn change_to_a_chosen_id_lower_case_accepted() {
    let h = harness();
    let c = h.citizen().await;
    let old = create(&h, &c).await;
    let chosen = free_id(&h).await;
    h.clock.advance(time::Duration::minutes(1));
    let r = change(&h, &c, &chosen.to_ascii_lowercase()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["mykey_id"], chosen.as_str(), "normalised to upper case");
    let hist = r.body["history"].as_array().unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0]["mykey_id"], chosen.as_str());
    assert_eq!(hist[0]["state"], "active");
    assert_eq!(hist[0]["created_at"], "2026-11-25T21:01:00+09:00");
    assert_eq!(hist[1]["mykey_id"], old.as_str());
    assert_eq!(hist[1]["state"], "retired");
    assert_eq!(hist[1]["retired_reason"], "changed");
    assert_eq!(hist[1]["retired_at"], "2026-11-25T21:01:00+09:00");

    // The claims: the new one active, the old one retired but still this person's.
    let claim = |id: &str| {
        let key = lifecycle::claim_key(&MyKeyId::parse(id).unwrap());
        let app = h.app.clone();
        async move { app.store.get(&PEOPLE, &key).await.unwrap().unwrap() }
    };
    let new_claim = claim(&chosen).await;
    assert_eq!(new_claim.s("state").unwrap(), "active");
    assert_eq!(new_claim.s("person_id").unwrap(), c.person_id.as_str());
    let old_claim = claim(&old).await;
    assert_eq!(old_claim.s("state").unwrap(), "retired");
    assert_eq!(old_claim.s("person_id").unwrap(), c.person_id.as_str());

    // Changing to the current ID changes nothing.
    let before = all_records(&h).await.iter().filter(|r| r.action == "mykey.change").count();
    let same = change(&h, &c, &chosen).await;
    assert_eq!(same.status, 200);
    assert_eq!(same.body["history"].as_array().unwrap().len(), 2);
    assert_eq!(all_records(&h).await.iter().filter(|r| r.action == "mykey.change").count(), before);
}

#[tokio::test]
async fn change_to_a_taken_id_is_refused_another_persons_or_own_retired() {
    let h = harness();
    let a = h.citizen().await;
    let b = h.citizen().await;
    let a_id = create(&h, &a).await;
    let b_first = create(&h, &b).await;

    let r = change(&h, &b, &a_id).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "mykey_id_taken"), "{}", r.body);

    let other = free_id(&h).await;
    assert_eq!(change(&h, &b, &other).await.status, 200);
    let r = change(&h, &b, &b_first.to_ascii_lowercase()).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "mykey_id_taken"), "own retired IDs are not reused either");

    // Revoked IDs stay taken.
    assert_eq!(h.call("DELETE", ME).bearer(&a.token).send().await.status, 204);
    let r = change(&h, &b, &a_id).await;
    assert_eq!(r.code(), "mykey_id_taken");
    let r = h.call("GET", ME).bearer(&b.token).send().await;
    assert_eq!(r.body["mykey_id"], other.as_str(), "nothing changed by the refusals");
}

#[tokio::test]
async fn malformed_ids_are_refused_naming_the_field() {
    let h = harness();
    let c = h.citizen().await;
    create(&h, &c).await;
    for bad in ["ABCD234O", "abcd234o", "ABCD2341", "ABCDI234", "ABC2345", "ABCD23456", "", "ABCD 234", "ＡBCD2345"] {
        let r = change(&h, &c, bad).await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_field"), "{bad}: {}", r.body);
        assert!(r.body["detail"].as_str().unwrap().starts_with("mykey_id:"), "{}", r.body);
    }
    let r = change(&h, &c, "ABCD234O").await;
    assert!(r.body["detail"].as_str().unwrap().contains("look-alike"), "{}", r.body);
    let r = h.call("PUT", ME).bearer(&c.token).json(json!({"mykey_id": "ABCD2345", "extra": 1})).send().await;
    assert_eq!(r.status, 422, "unknown fields are refused");
    let r = h.call("PUT", ME).bearer(&c.token).json(json!({"mykey_id": 12345678})).send().await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn change_and_revoke_without_an_id_are_conflicts() {
    let h = harness();
    let c = h.citizen().await;
    let r = change(&h, &c, "ABCD2345").await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "mykey_id_absent"));
    let r = h.call("DELETE", ME).bearer(&c.token).send().await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "mykey_id_absent"));
}

// ---- suggestions ----------------------------------------------------------------------------

#[tokio::test]
async fn suggestions_are_three_distinct_free_ids_and_one_can_be_used() {
    let h = harness();
    let c = h.citizen().await;
    let current = create(&h, &c).await;
    let r = h.call("GET", SUGGESTIONS).bearer(&c.token).send().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<String> =
        r.body["suggestions"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3, "distinct");
    for id in &ids {
        assert!(in_alphabet(id), "{id}");
        assert_ne!(id, &current);
        assert!(!lifecycle::is_claimed(&h.app, &MyKeyId::parse(id).unwrap()).await.unwrap());
    }
    let r = change(&h, &c, &ids[1]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["mykey_id"], ids[1].as_str());
    // Not reserved: claiming one does not hold the others, and they stay free.
    assert!(!lifecycle::is_claimed(&h.app, &MyKeyId::parse(&ids[0]).unwrap()).await.unwrap());
}

// ---- revoke ---------------------------------------------------------------------------------

#[tokio::test]
async fn revoke_then_create_gives_a_new_id_and_the_old_one_stays_claimed() {
    let h = harness();
    let c = h.citizen().await;
    let other = h.citizen().await;
    let first = create(&h, &c).await;
    h.clock.advance(time::Duration::minutes(10));
    let r = h.call("DELETE", ME).bearer(&c.token).send().await;
    assert_eq!(r.status, 204);
    assert!(r.raw.is_empty());

    let r = h.call("GET", ME).bearer(&c.token).send().await;
    assert_eq!(r.body["mykey_id"], Value::Null);
    assert_eq!(r.body["history"][0]["mykey_id"], first.as_str());
    assert_eq!(r.body["history"][0]["state"], "retired");
    assert_eq!(r.body["history"][0]["retired_reason"], "revoked");
    assert_eq!(r.body["history"][0]["retired_at"], "2026-11-25T21:10:00+09:00");
    assert!(person::profile(&h.app, &c.person_id).await.unwrap().unwrap().mykey_id.is_none());

    let second = create(&h, &c).await;
    assert_ne!(second, first);
    let r = h.call("GET", ME).bearer(&c.token).send().await;
    assert_eq!(r.body["history"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["history"][0]["mykey_id"], second.as_str());

    // Nobody else gets the revoked ID.
    create(&h, &other).await;
    let r = change(&h, &other, &first).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "mykey_id_taken"));
    let claim =
        h.app.store.get(&PEOPLE, &lifecycle::claim_key(&MyKeyId::parse(&first).unwrap())).await.unwrap().unwrap();
    assert_eq!(claim.s("person_id").unwrap(), c.person_id.as_str());
    assert_eq!(claim.s("state").unwrap(), "retired");
}

// ---- lapsed persons -------------------------------------------------------------------------

#[tokio::test]
async fn a_lapsed_person_may_read_and_revoke_but_not_create_or_change() {
    let h = harness();
    let c = h.citizen().await;
    let never = h.citizen().await;
    let id = create(&h, &c).await;
    h.revoke_cert(&c.cert).await;
    h.revoke_cert(&never.cert).await;

    let r = h.call("POST", PATH).bearer(&never.token).send().await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "person_lapsed"), "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("renewal re-link"));
    let r = h.call("POST", PATH).bearer(&c.token).send().await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "person_lapsed"));
    let r = change(&h, &c, &free_id(&h).await).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "person_lapsed"));

    let r = h.call("GET", ME).bearer(&c.token).send().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["lapsed"], true);
    assert_eq!(r.body["mykey_id"], id.as_str());
    assert_eq!(r.body["certificates"][0]["state"], "revoked");

    assert_eq!(h.call("DELETE", ME).bearer(&c.token).send().await.status, 204);
    let r = h.call("GET", ME).bearer(&c.token).send().await;
    assert_eq!(r.body["mykey_id"], Value::Null);
}

#[tokio::test]
async fn an_expired_certificate_lapses_the_person_too() {
    let h = harness();
    let c = h.citizen().await;
    h.clock.advance(time::Duration::days(5 * 365 + 1));
    // The test CRL would be stale by then; keep revocation data current.
    h.mark_crl_current(&c.cert.issuer).await;
    let session = mkpf_core::card_auth::sessions::open(&h.app, &c.person_id, &c.cert).await.unwrap();
    h.app.store.transact(vec![session.op]).await.unwrap();
    let r = h.call("POST", PATH).bearer(&session.token).send().await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "person_lapsed"), "{}", r.body);
    let r = h.call("GET", ME).bearer(&session.token).send().await;
    assert_eq!(r.body["certificates"][0]["state"], "expired");
}

// ---- access and audit -----------------------------------------------------------------------

#[tokio::test]
async fn staff_and_anonymous_callers_are_refused() {
    let h = harness();
    let routes = [("POST", PATH), ("GET", ME), ("GET", SUGGESTIONS), ("PUT", ME), ("DELETE", ME)];
    for (m, p) in routes {
        let body = json!({"mykey_id": "ABCD2345"});
        let r = h.call(m, p).json(body.clone()).send().await;
        assert_eq!(r.status, 401, "{m} {p} anonymous");
        let r = h.call(m, p).staff(OPERATOR).json(body).send().await;
        assert_eq!(r.status, 403, "{m} {p} staff");
    }
}

#[tokio::test]
async fn every_create_read_change_and_revoke_is_audited_with_ids_only() {
    let h = harness();
    let c = h.citizen().await;
    let first = create(&h, &c).await;
    let second = free_id(&h).await;
    assert_eq!(change(&h, &c, &second).await.status, 200);
    assert_eq!(h.call("GET", ME).bearer(&c.token).send().await.status, 200);
    assert_eq!(h.call("GET", SUGGESTIONS).bearer(&c.token).send().await.status, 200);
    assert_eq!(h.call("DELETE", ME).bearer(&c.token).send().await.status, 204);

    let records: Vec<_> = all_records(&h).await.into_iter().filter(|r| r.action.starts_with("mykey.")).collect();
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    // POST and PUT answer with the view, read back (and audited) after the write.
    assert_eq!(
        actions.iter().filter(|a| **a == "mykey.read").count(),
        3,
        "create, change and GET me read the view: {actions:?}"
    );
    for a in ["mykey.create", "mykey.change", "mykey.revoke"] {
        assert_eq!(actions.iter().filter(|x| **x == a).count(), 1, "{a}: {actions:?}");
    }
    let person = format!("person:{}", c.person_id);
    for r in &records {
        assert_eq!(r.actor, Actor::new("citizen", Some(c.person_id.as_str())));
        assert_eq!(r.targets[0], person);
        assert!(r.targets[1..].iter().all(|t| t.starts_with("mykey:")), "{:?}", r.targets);
        let text = r.to_json();
        assert!(!text.contains(c.cert.serial.as_str()), "no certificate data: {text}");
        assert!(!text.contains(c.cert.issuer.as_str()), "no certificate data: {text}");
    }
    let change = records.iter().find(|r| r.action == "mykey.change").unwrap();
    assert_eq!(change.targets, vec![person.clone(), format!("mykey:{first}"), format!("mykey:{second}")]);
    let revoke = records.iter().find(|r| r.action == "mykey.revoke").unwrap();
    assert_eq!(revoke.targets, vec![person, format!("mykey:{second}")]);
}

// ---- collision retry and concurrency ---------------------------------------------------------

#[tokio::test]
async fn a_claim_collision_is_retried_with_the_next_candidate() {
    let h = harness();
    let a = h.citizen().await;
    let b = h.citizen().await;
    let x = MyKeyId::parse("XXXX2222").unwrap();
    let y = MyKeyId::parse("YYYY3333").unwrap();
    let made = lifecycle::create_with(&h.app, &ctx_of(&a.person_id), &a.person_id, &mut || x.clone()).await.unwrap();
    assert_eq!((made.id.as_str(), made.created), ("XXXX2222", true));

    let mut candidates = vec![y.clone(), x.clone()];
    let mut next = || candidates.pop().unwrap();
    let made = lifecycle::create_with(&h.app, &ctx_of(&b.person_id), &b.person_id, &mut next).await.unwrap();
    assert_eq!((made.id, made.created), (y, true), "the taken X was skipped");
    let rec = all_records(&h)
        .await
        .into_iter()
        .find(|r| r.action == "mykey.create" && r.targets.contains(&"mykey:YYYY3333".to_owned()))
        .unwrap();
    assert_eq!(rec.detail["attempts"], 2);

    // A generator that only ever yields taken IDs gives up after the retries, writing nothing.
    let c = h.citizen().await;
    let mut calls = 0;
    let err = lifecycle::create_with(&h.app, &ctx_of(&c.person_id), &c.person_id, &mut || {
        calls += 1;
        x.clone()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, CreateError::NoFreeId), "{err:?}");
    assert_eq!(calls, lifecycle::CLAIM_RETRIES + 1);
    assert!(person::profile(&h.app, &c.person_id).await.unwrap().unwrap().mykey_id.is_none());
    assert!(lifecycle::history(&h.app, &c.person_id).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_by_many_people_get_distinct_ids() {
    let h = harness();
    let mut people = Vec::new();
    for _ in 0..64 {
        people.push(h.citizen().await.person_id);
    }
    let tasks: Vec<_> = people
        .iter()
        .cloned()
        .map(|pid| {
            let app = h.app.clone();
            tokio::spawn(async move { lifecycle::create(&app, &ctx_of(&pid), &pid).await.unwrap() })
        })
        .collect();
    let mut ids = HashSet::new();
    for t in tasks {
        let made = t.await.unwrap();
        assert!(made.created);
        ids.insert(made.id);
    }
    assert_eq!(ids.len(), 64);
    for pid in &people {
        let p = person::profile(&h.app, pid).await.unwrap().unwrap();
        assert!(ids.contains(&MyKeyId::parse(p.mykey_id.as_deref().unwrap()).unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_by_one_person_yield_exactly_one_active_id() {
    let h = harness();
    let c = h.citizen().await;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let app = h.app.clone();
            let pid = c.person_id.clone();
            tokio::spawn(async move { lifecycle::create(&app, &ctx_of(&pid), &pid).await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let id = results[0].id.clone();
    assert!(results.iter().all(|r| r.id == id), "everyone got the same ID");
    assert_eq!(results.iter().filter(|r| r.created).count(), 1, "exactly one created it");

    // The store: one history item, active; its claim is this person's and active; the profile
    // points at it; and exactly one mykey.create record.
    let page = h
        .app
        .store
        .query(Query::new(&PEOPLE, person::pk(&c.person_id)).sk(SkCond::BeginsWith(lifecycle::HISTORY_PREFIX.into())))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].s("state").unwrap(), "active");
    assert_eq!(page.items[0].s("mykey_id").unwrap(), id.as_str());
    let claim = h.app.store.get(&PEOPLE, &lifecycle::claim_key(&id)).await.unwrap().unwrap();
    assert_eq!(claim.s("person_id").unwrap(), c.person_id.as_str());
    assert_eq!(claim.s("state").unwrap(), "active");
    let profile = h.app.store.get(&PEOPLE, &Key::new(person::pk(&c.person_id), person::PROFILE_SK)).await.unwrap();
    assert_eq!(profile.unwrap().s("mykey_id").unwrap(), id.as_str());
    assert_eq!(all_records(&h).await.iter().filter(|r| r.action == "mykey.create").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_changing_to_the_same_id_at_once_one_wins() {
    let h = harness();
    let target = MyKeyId::parse(&free_id(&h).await).unwrap();
    let mut people = Vec::new();
    for _ in 0..8 {
        let c = h.citizen().await;
        lifecycle::create(&h.app, &ctx_of(&c.person_id), &c.person_id).await.unwrap();
        people.push(c.person_id);
    }
    let tasks: Vec<_> = people
        .iter()
        .cloned()
        .map(|pid| {
            let app = h.app.clone();
            let t = target.clone();
            tokio::spawn(
                async move { lifecycle::change(&app, &ctx_of(&pid), &pid, t).await.map_err(|e| e.to_string()) },
            )
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => {
                assert_eq!(id, target);
                won += 1;
            }
            Err(e) => assert_eq!(e, "the MyKey ID is taken"),
        }
    }
    assert_eq!(won, 1);
    let holders: Vec<_> = {
        let mut v = Vec::new();
        for pid in &people {
            if person::profile(&h.app, pid).await.unwrap().unwrap().mykey_id.as_deref() == Some(target.as_str()) {
                v.push(pid.clone());
            }
        }
        v
    };
    assert_eq!(holders.len(), 1);
}

#[tokio::test]
async fn the_openapi_document_describes_every_field() {
    let h = harness();
    let doc = h.call("GET", "/openapi.json").send().await;
    let schemas = &doc.body["components"]["schemas"];
    for name in ["MyKeyView", "CertificateView", "HistoryView", "Suggestions", "ChangeRequest"] {
        let props = schemas[name]["properties"].as_object().unwrap_or_else(|| panic!("{name} is in the document"));
        for (field, s) in props {
            let described = s.get("description").is_some()
                || s["oneOf"].as_array().is_some_and(|v| v.iter().any(|x| x.get("description").is_some()));
            assert!(described, "{name}.{field} has a description");
        }
        // Every field is always present (null when empty).
        assert_eq!(schemas[name]["required"].as_array().unwrap().len(), props.len(), "{name}");
    }
    let req = &schemas["ChangeRequest"];
    assert_eq!(req["additionalProperties"], false);
    assert_eq!(req["properties"]["mykey_id"]["pattern"], mkpf_core::mykey::id::PATTERN);
}
