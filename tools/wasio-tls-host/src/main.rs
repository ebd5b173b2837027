//! wasio-tls-host: run a wasi:cli command component with wasi:sockets and
//! wasi:tls (wasmtime-wasi-tls, OpenSSL provider: trusts the system store and
//! SSL_CERT_FILE). Only for proving wasio's host-TLS backend end to end.
//! A component that exports wasi:cli/run@0.3.0 runs as a WASI 0.3 command
//! (with wasi:tls@0.3.0-draft), any other as a WASI 0.2 one; both get the
//! 0.2 interfaces too (the wasip2 libc's stdio).
//!
//! usage: wasio-tls-host [--dir HOSTDIR] COMPONENT.wasm [ARGS...]
use std::process::ExitCode;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_tls::{OpenSslProvider, WasiTlsCtx, WasiTlsCtxBuilder, WasiTlsCtxView, WasiTlsView};

struct Ctx {
    table: ResourceTable,
    wasi: WasiCtx,
    tls: WasiTlsCtx,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiTlsView for Ctx {
    fn tls(&mut self) -> WasiTlsCtxView<'_> {
        WasiTlsCtxView { ctx: &mut self.tls, table: &mut self.table }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: wasio-tls-host [--dir HOSTDIR] COMPONENT.wasm [ARGS...]");
    ExitCode::from(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir: Option<String> = None;
    while let Some(a) = args.first() {
        match a.as_str() {
            "--dir" if args.len() >= 2 => {
                dir = Some(args[1].clone());
                args.drain(..2);
            }
            "--" => {
                args.remove(0);
                break;
            }
            s if s.starts_with('-') => return usage(),
            _ => break,
        }
    }
    if args.is_empty() {
        return usage();
    }
    match run(&args, dir.as_deref()).await {
        Ok(code) => code,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                return ExitCode::from(exit.0.clamp(0, 255) as u8);
            }
            eprintln!("wasio-tls-host: {e:?}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &[String], dir: Option<&str>) -> wasmtime::Result<ExitCode> {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, &args[0])?;

    let mut wasi = WasiCtx::builder();
    wasi.inherit_stdio()
        .inherit_network()
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(true)
        .args(args);
    if let Some(d) = dir {
        wasi.preopened_dir(d, ".", FsPerms::ReadWrite)?;
    }
    let ctx = Ctx {
        table: ResourceTable::new(),
        wasi: wasi.build(),
        tls: WasiTlsCtxBuilder::new().provider(Box::new(OpenSslProvider::default())).build(),
    };
    let mut store = Store::new(&engine, ctx);
    let mut linker: Linker<Ctx> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    let mut opts = wasmtime_wasi_tls::p2::LinkOptions::default();
    opts.tls(true);
    wasmtime_wasi_tls::p2::add_to_linker(&mut linker, &opts)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_tls::p3::add_to_linker(&mut linker)?;

    let p3 = component
        .component_type()
        .exports(&engine)
        .any(|(name, _)| name == "wasi:cli/run@0.3.0");
    let result = if p3 {
        let command = wasmtime_wasi::p3::bindings::Command::instantiate_async(&mut store, &component, &linker).await?;
        store
            .run_concurrent(async move |store| command.wasi_cli_run().call_run(store).await)
            .await??
    } else {
        let command = Command::instantiate_async(&mut store, &component, &linker).await?;
        command.wasi_cli_run().call_run(&mut store).await?
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(()) => Ok(ExitCode::from(1)),
    }
}
