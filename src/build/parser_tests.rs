use super::*;

fn one(src: &str) -> Instruction {
    let df = parse(&format!("FROM busybox\n{src}\n")).unwrap_or_else(|e| panic!("{src}: {e}"));
    df.stages[0].instructions[0].clone()
}

fn fails(src: &str) -> ParseError {
    parse(src).expect_err(src)
}

#[test]
fn from_forms() {
    let df =
        parse("ARG V=1\nARG BASE\nFROM --platform=linux/amd64 busybox:$V AS Build\nFROM scratch\nFROM build as t2\n")
            .unwrap();
    assert_eq!(df.meta_args.len(), 2);
    assert_eq!(df.stages.len(), 3);
    assert_eq!(df.stages[0].base, "busybox:$V");
    assert_eq!(df.stages[0].name.as_deref(), Some("build"));
    assert_eq!(df.stages[0].platform.as_deref(), Some("linux/amd64"));
    assert_eq!(df.stages[1].base, "scratch");
    assert_eq!(df.stages[1].name, None);
    assert_eq!(df.stages[2].name.as_deref(), Some("t2"));
    assert_eq!(df.stages[2].from.line, 5);
}

#[test]
fn from_errors() {
    let e = fails("FROM a b\n");
    assert_eq!((e.line, e.col), (1, 6));
    assert!(e.msg.contains("one or three"));
    assert!(fails("FROM a AS 1x\n").msg.contains("invalid stage name"));
    assert!(fails("FROM a AS x\nFROM b AS X\n").msg.contains("duplicate stage name"));
    assert!(fails("RUN true\n").msg.contains("before the first FROM"));
    assert!(fails("# just a comment\n").msg.contains("no FROM"));
    assert!(fails("FROM\n").msg.contains("FROM requires"));
}

#[test]
fn run_shell_exec_and_flags() {
    assert!(matches!(one("RUN echo $HOME").cmd, Cmd::Run { command: Command::Shell(s), .. } if s == "echo $HOME"));
    assert!(
        matches!(one("run [\"echo\", \"a b\"]").cmd, Cmd::Run { command: Command::Exec(v), .. } if v == ["echo", "a b"])
    );
    // Malformed JSON falls back to the shell form, as in Docker.
    assert!(matches!(one("RUN [echo]").cmd, Cmd::Run { command: Command::Shell(s), .. } if s == "[echo]"));
    let Cmd::Run { mounts, network, .. } = one(
        "RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked --mount=type=bind,from=builder,source=/app,target=/src,ro --mount=type=tmpfs,target=/tmp,size=64m --mount=type=secret,id=tok --network=none make",
    )
    .cmd
    else {
        panic!()
    };
    assert_eq!(network.as_deref(), Some("none"));
    assert_eq!(mounts.len(), 4);
    assert_eq!((mounts[0].kind.as_str(), mounts[0].target.as_str()), ("cache", "/root/.cache"));
    assert_eq!(mounts[0].sharing.as_deref(), Some("locked"));
    assert_eq!(mounts[1].from.as_deref(), Some("builder"));
    assert!(mounts[1].readonly);
    assert_eq!(mounts[2].size.as_deref(), Some("64m"));
    assert_eq!(mounts[3].target, "/run/secrets/tok");
    let e = fails("FROM a\nRUN --mount=type=nfs,target=/x true\n");
    assert_eq!((e.line, e.col), (2, 5));
    assert!(fails("FROM a\nRUN --mount=type=cache true\n").msg.contains("target"));
    assert!(fails("FROM a\nRUN --network=bridge true\n").msg.contains("--network"));
    let e = fails("FROM a\nRUN --bogus=1 true\n");
    assert_eq!((e.line, e.col), (2, 5));
    assert!(e.msg.contains("unknown flag: --bogus"));
    assert!(fails("FROM a\nRUN\n").msg.contains("RUN requires"));
}

#[test]
fn cmd_entrypoint_keep_dashes() {
    assert_eq!(one("CMD --help").cmd, Cmd::Cmd(Command::Shell("--help".into())));
    assert_eq!(one("ENTRYPOINT [\"/bin/app\"]").cmd, Cmd::Entrypoint(Command::Exec(vec!["/bin/app".into()])));
    assert_eq!(one("CMD []").cmd, Cmd::Cmd(Command::Exec(vec![])));
}

#[test]
fn env_label_arg() {
    assert_eq!(
        one("ENV A=1 B=\"two words\" C=x\\ y").cmd,
        Cmd::Env(vec![("A".into(), "1".into()), ("B".into(), "\"two words\"".into()), ("C".into(), "x\\ y".into())])
    );
    assert_eq!(one("ENV NAME  some value here").cmd, Cmd::Env(vec![("NAME".into(), "some value here".into())]));
    assert_eq!(
        one("LABEL \"com.example.vendor\"=\"ACME\" version=1.0").cmd,
        Cmd::Label(vec![("\"com.example.vendor\"".into(), "\"ACME\"".into()), ("version".into(), "1.0".into())])
    );
    assert_eq!(one("ARG A B=2").cmd, Cmd::Arg(vec![("A".into(), None), ("B".into(), Some("2".into()))]));
    assert!(fails("FROM a\nENV A\n").msg.contains("two arguments"));
    let e = fails("FROM a\nENV A=1 =2\n");
    assert_eq!((e.line, e.col), (2, 9));
    assert!(fails("FROM a\nENV A=\"open\n").msg.contains("unterminated"));
    assert!(fails("FROM a\nARG a-b\n").msg.contains("invalid name"));
}

#[test]
fn simple_instructions() {
    assert_eq!(one("MAINTAINER Jane <j@example.com>").cmd, Cmd::Maintainer("Jane <j@example.com>".into()));
    assert_eq!(one("EXPOSE 80/tcp 53/udp").cmd, Cmd::Expose("80/tcp 53/udp".into()));
    assert_eq!(one("VOLUME [\"/data\", \"/logs\"]").cmd, Cmd::Volume(vec!["/data".into(), "/logs".into()]));
    assert_eq!(one("VOLUME /a /b").cmd, Cmd::Volume(vec!["/a".into(), "/b".into()]));
    assert_eq!(one("USER app:app").cmd, Cmd::User("app:app".into()));
    assert_eq!(one("WORKDIR $HOME/x").cmd, Cmd::Workdir("$HOME/x".into()));
    assert_eq!(one("STOPSIGNAL SIGQUIT").cmd, Cmd::StopSignal("SIGQUIT".into()));
    assert_eq!(one("SHELL [\"/bin/bash\", \"-c\"]").cmd, Cmd::Shell(vec!["/bin/bash".into(), "-c".into()]));
    assert!(fails("FROM a\nSHELL /bin/bash -c\n").msg.contains("JSON"));
    assert!(fails("FROM a\nUSER\n").msg.contains("USER requires"));
    let e = fails("FROM a\n  FOO bar\n");
    assert_eq!((e.line, e.col, e.msg.as_str()), (2, 1, "unknown instruction: FOO"));
}

#[test]
fn copy_and_add() {
    let Cmd::Copy(c) = one("COPY --from=builder --chown=1:2 --chmod=0755 a b* /dst/").cmd else { panic!() };
    assert_eq!(c.sources, ["a", "b*"]);
    assert_eq!(c.dest, "/dst/");
    assert_eq!(c.from.as_deref(), Some("builder"));
    assert_eq!(c.chown.as_deref(), Some("1:2"));
    assert_eq!(c.chmod.as_deref(), Some("0755"));
    let Cmd::Copy(c) = one("COPY [\"a b\", \"/c d/\"]").cmd else { panic!() };
    assert_eq!((c.sources, c.dest), (vec!["a b".to_string()], "/c d/".to_string()));
    let Cmd::Add(a) = one("ADD --checksum=sha256:abc https://example.com/f.tgz /f").cmd else { panic!() };
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    let Cmd::Copy(c) = one("COPY --link a /b").cmd else { panic!() };
    assert!(c.link);
    assert!(fails("FROM a\nCOPY onlyone\n").msg.contains("at least two"));
    assert!(fails("FROM a\nCOPY --chmod=99 a b\n").msg.contains("octal"));
    assert!(fails("FROM a\nADD --checksum=sha256:x a b\n").msg.contains("HTTP"));
    assert!(fails("FROM a\nCOPY --checksum=sha256:x a b\n").msg.contains("unknown flag"));
    assert!(fails("FROM a\nCOPY --from a b\n").msg.contains("needs a value"));
}

#[test]
fn healthcheck() {
    let Cmd::Healthcheck(Some(h)) =
        one("HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --retries=3 CMD curl -f http://localhost/ || exit 1")
            .cmd
    else {
        panic!()
    };
    assert_eq!(h.interval, Some(300_000_000_000));
    assert_eq!(h.timeout, Some(3_000_000_000));
    assert_eq!(h.start_period, Some(90_000_000_000));
    assert_eq!(h.retries, Some(3));
    assert_eq!(h.test, Command::Shell("curl -f http://localhost/ || exit 1".into()));
    let Cmd::Healthcheck(Some(h)) = one("HEALTHCHECK CMD [\"/bin/check\"]").cmd else { panic!() };
    assert_eq!(h.test, Command::Exec(vec!["/bin/check".into()]));
    assert_eq!(one("HEALTHCHECK NONE").cmd, Cmd::Healthcheck(None));
    assert!(fails("FROM a\nHEALTHCHECK --interval=soon CMD x\n").msg.contains("duration"));
    assert!(fails("FROM a\nHEALTHCHECK echo\n").msg.contains("NONE or CMD"));
    assert!(fails("FROM a\nHEALTHCHECK CMD\n").msg.contains("NONE or CMD"));
}

#[test]
fn onbuild() {
    assert_eq!(one("ONBUILD RUN echo hi").cmd, Cmd::Onbuild("RUN echo hi".into()));
    assert_eq!(one("onbuild COPY . /app").cmd, Cmd::Onbuild("COPY . /app".into()));
    assert!(fails("FROM a\nONBUILD ONBUILD RUN x\n").msg.contains("isn't allowed"));
    assert!(fails("FROM a\nONBUILD FROM x\n").msg.contains("isn't allowed"));
    let e = fails("FROM a\nONBUILD BOGUS x\n");
    assert_eq!((e.line, e.col), (2, 9));
}

#[test]
fn continuations_and_comments() {
    let df = parse("FROM a\nRUN apt-get update \\\n# a comment inside\n\n    && echo done\nCMD x\n").unwrap();
    let i = &df.stages[0].instructions;
    assert_eq!(i[0].line, 2);
    assert_eq!(
        i[0].cmd,
        Cmd::Run {
            command: Command::Shell("apt-get update     && echo done".into()),
            mounts: vec![],
            network: None,
            heredocs: vec![]
        }
    );
    assert_eq!(i[1].line, 6);
    // CRLF files and trailing whitespace after the escape.
    let df = parse("FROM a\r\nRUN a \\  \r\n b\r\n").unwrap();
    assert_eq!(df.stages[0].instructions[0].text, "RUN a  b");
}

#[test]
fn directives() {
    let df = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n").unwrap();
    assert_eq!(df.escape, '`');
    assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.stages[0].instructions[0].text, "RUN dir c:\\   && echo");
    // A directive after a comment is just a comment.
    let df = parse("# hello\n# escape=`\nFROM a\nRUN x \\\n y\n").unwrap();
    assert_eq!(df.escape, '\\');
    assert!(fails("# escape=`\n# escape=\\\nFROM a\n").msg.contains("only one"));
    assert!(fails("# escape=x\nFROM a\n").msg.contains("escape token"));
}

#[test]
fn heredocs() {
    let df = parse("FROM a\nRUN <<EOF\necho one\necho two\nEOF\nRUN <<-END cat > /f\n\tindented\n\tEND\nCOPY <<A <<\"B\" /dst/\na\nA\n$b\nB\nCMD x\n")
        .unwrap();
    let i = &df.stages[0].instructions;
    let Cmd::Run { heredocs, command, .. } = &i[0].cmd else { panic!() };
    assert_eq!(command, &Command::Shell("<<EOF".into()));
    assert_eq!(heredocs[0], Heredoc { name: "EOF".into(), content: "echo one\necho two\n".into(), quoted: false });
    let Cmd::Run { heredocs, .. } = &i[1].cmd else { panic!() };
    assert_eq!(heredocs[0].content, "indented\n");
    let Cmd::Copy(c) = &i[2].cmd else { panic!() };
    assert_eq!(c.sources, ["<<A", "<<\"B\""]);
    assert_eq!(c.heredocs.len(), 2);
    assert!(c.heredocs[1].quoted);
    assert_eq!(c.heredocs[1].content, "$b\n");
    assert_eq!(i[3].cmd, Cmd::Cmd(Command::Shell("x".into())));
    assert!(fails("FROM a\nRUN <<EOF\nno end\n").msg.contains("unterminated heredoc"));
    // `<<` inside quotes is not a heredoc.
    let Cmd::Run { heredocs, .. } = one("RUN echo '<<x'").cmd else { panic!() };
    assert!(heredocs.is_empty());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("1h2m3s"), Some(3_723_000_000_000));
    assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
    assert_eq!(parse_duration("250ms"), Some(250_000_000));
    assert_eq!(parse_duration("0"), Some(0));
    assert_eq!(parse_duration("5"), None);
    assert_eq!(parse_duration("x"), None);
}
