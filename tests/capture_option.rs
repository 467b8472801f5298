//! `#[netns_test(capture)]`: one test's capture is kept without
//! `NETNS_TEST_CAPTURE`, pass or fail.
#![cfg(feature = "capture")]

mod common;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;

use netns_test::{netns_test, CAPTURE_DIR_ENV, CAPTURE_ENV};

/// Set in the child process only: makes the demo test connect.
const DEMO_ENV: &str = "NETNS_TEST_CAPTURE_OPTION_DEMO";
const PORT: u16 = 47_011;

#[netns_test(capture)]
fn demo_passes_with_its_capture_kept() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, PORT)).unwrap();
    TcpStream::connect((Ipv4Addr::LOCALHOST, PORT)).unwrap();
    listener.accept().unwrap();
}

#[netns_test]
fn demo_passes_without_the_option() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, PORT + 1)).unwrap();
    TcpStream::connect((Ipv4Addr::LOCALHOST, PORT + 1)).unwrap();
    listener.accept().unwrap();
}

#[test]
fn the_option_keeps_one_tests_capture_without_the_variable() {
    let dir =
        std::env::temp_dir().join(format!("netns-test-capture-option-{}", std::process::id()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["demo_passes_", "--test-threads=1"])
        .env(DEMO_ENV, "1")
        .env_remove(CAPTURE_ENV)
        .env(CAPTURE_DIR_ENV, &dir)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    let kept = dir.join("capture_option.demo_passes_with_its_capture_kept.pcapng");
    let bytes = std::fs::read(&kept).unwrap_or_else(|e| panic!("{kept:?}: {e}\n{text}"));
    // A pcapng Section Header Block opens the file.
    assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "{kept:?}");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 1, "only the test with the option: {files:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
