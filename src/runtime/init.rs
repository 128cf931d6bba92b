//! The tiny init behind `rcon run --init` (what tini is for `docker run --init`).
//!
//! The rcon binary is re-executed as the container's pid 1 in a hidden mode
//! (`rcon __init -- CMD ARGS…`) and calls [`init_main`]. It:
//!
//! * blocks every signal except the synchronous ones (SIGFPE, SIGILL, SIGSEGV,
//!   SIGBUS, SIGABRT, SIGTRAP, SIGSYS) and ignores SIGTTIN/SIGTTOU, as tini
//!   does; signals are then taken with `sigtimedwait`, no handlers;
//! * forks the command: the child puts itself in its own process group (and,
//!   when stdin is a terminal, makes that group the foreground one), resets
//!   every signal disposition to the default and unblocks all signals, then
//!   `execvp`s the command. If that fails it prints
//!   `rcon-init: exec CMD failed: ERR` and exits 127 (ENOENT, ENOTDIR) or 126
//!   (EACCES, ENOEXEC and anything else);
//! * forwards every signal it receives, except SIGCHLD, to the child's pid
//!   (tini's default; not to its process group);
//! * reaps every child that exits (`waitpid(-1, WNOHANG)` on SIGCHLD, and at
//!   least once a second), including orphans re-parented to it; when not
//!   pid 1 it makes itself a child subreaper so that orphans still come to it;
//! * when the command exits, returns its exit code, or 128+N if signal N
//!   killed it.
//!
//! It must be called while the process is single-threaded (the signal mask
//! set here is per thread); it is meant to be the first thing `rcon __init`
//! does, and the caller exits with the returned code.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

/// Signals left unblocked: raised by faults in the init itself, they must
/// kill it rather than be queued (tini keeps the same list).
const SYNCHRONOUS: [libc::c_int; 7] =
    [libc::SIGFPE, libc::SIGILL, libc::SIGSEGV, libc::SIGBUS, libc::SIGABRT, libc::SIGTRAP, libc::SIGSYS];

/// Exit code for a failed exec, Docker-style: 127 "not found", 126 "cannot run".
pub fn exec_failure_code(errno: i32) -> i32 {
    match errno {
        libc::ENOENT | libc::ENOTDIR => 127,
        _ => 126,
    }
}

/// Exit code for a wait status: the exit code, or 128+signal.
fn status_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        // Not reachable without WUNTRACED/WCONTINUED.
        1
    }
}

fn highest_signal() -> libc::c_int {
    let n = libc::SIGRTMAX();
    if n > 0 {
        n
    } else {
        64
    }
}

/// Entry point: `args` is the command to run (`args[0]` looked up in PATH).
/// Returns the exit code the init should exit with.
pub fn init_main(args: Vec<OsString>) -> i32 {
    if args.is_empty() {
        eprintln!("rcon-init: no command given (usage: rcon __init -- CMD [ARG...])");
        return 1;
    }
    let mut cargs = Vec::with_capacity(args.len());
    for a in &args {
        match CString::new(a.as_bytes()) {
            Ok(c) => cargs.push(c),
            Err(_) => {
                eprintln!("rcon-init: argument contains a NUL byte: {:?}", a);
                return 1;
            }
        }
    }
    let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    // Prepared before fork so the child only makes raw system calls.
    let mut msg_prefix = b"rcon-init: exec ".to_vec();
    msg_prefix.extend_from_slice(args[0].as_bytes());
    msg_prefix.extend_from_slice(b" failed: ");

    unsafe {
        if libc::getpid() != 1 {
            // Orphans of the command are re-parented to us, as to a real pid 1.
            libc::prctl(
                libc::PR_SET_CHILD_SUBREAPER,
                1 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            );
        }

        let mut blocked: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut blocked);
        for s in SYNCHRONOUS.iter().chain([libc::SIGTTIN, libc::SIGTTOU].iter()) {
            libc::sigdelset(&mut blocked, *s);
        }
        if libc::sigprocmask(libc::SIG_SETMASK, &blocked, std::ptr::null_mut()) != 0 {
            eprintln!("rcon-init: sigprocmask: {}", std::io::Error::last_os_error());
            return 1;
        }
        // SIGCHLD must not be ignored, or children would be reaped behind our
        // back and waitpid could not report the command's status.
        set_disposition(libc::SIGCHLD, libc::SIG_DFL);
        // The child calls tcsetpgrp from what is then a background group.
        set_disposition(libc::SIGTTIN, libc::SIG_IGN);
        set_disposition(libc::SIGTTOU, libc::SIG_IGN);

        let child = libc::fork();
        if child < 0 {
            eprintln!("rcon-init: fork: {}", std::io::Error::last_os_error());
            return 1;
        }
        if child == 0 {
            exec_child(&argv, &msg_prefix);
        }
        supervise(child, &blocked)
    }
}

/// `--init` without a second binary: called in the container's pid 1 right
/// before exec (identity, capabilities and seccomp already applied). Forks:
/// returns `None` in the child, which goes on to exec the command; in the
/// parent, which stays pid 1 as the init, supervises the child and returns
/// the code to exit with. (A separate init binary would need to be static:
/// the container has no loader or libc of ours.) The process is
/// non-dumpable, so the container cannot reach /proc/1/exe.
pub fn fork_init() -> Option<i32> {
    unsafe {
        let mut blocked: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut blocked);
        for s in SYNCHRONOUS.iter().chain([libc::SIGTTIN, libc::SIGTTOU].iter()) {
            libc::sigdelset(&mut blocked, *s);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &blocked, std::ptr::null_mut());
        set_disposition(libc::SIGCHLD, libc::SIG_DFL);
        set_disposition(libc::SIGTTIN, libc::SIG_IGN);
        set_disposition(libc::SIGTTOU, libc::SIG_IGN);
        let child = libc::fork();
        if child < 0 {
            return Some(125);
        }
        if child == 0 {
            // The caller resets dispositions and the mask before exec.
            libc::setpgid(0, 0);
            if libc::isatty(libc::STDIN_FILENO) == 1 {
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
            }
            return None;
        }
        // The init execs nothing: close what the start path left open (the
        // monitor waits for its error pipe to close).
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        Some(supervise(child, &blocked))
    }
}

unsafe fn set_disposition(sig: libc::c_int, handler: libc::sighandler_t) {
    let mut sa: libc::sigaction = std::mem::zeroed();
    sa.sa_sigaction = handler;
    libc::sigemptyset(&mut sa.sa_mask);
    libc::sigaction(sig, &sa, std::ptr::null_mut());
}

/// In the forked child: isolate, restore signals, exec. Never returns.
unsafe fn exec_child(argv: &[*const libc::c_char], msg_prefix: &[u8]) -> ! {
    // Own process group, like tini; give it the terminal if there is one.
    libc::setpgid(0, 0);
    if libc::isatty(libc::STDIN_FILENO) == 1 {
        libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
    }
    for sig in 1..=highest_signal() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            set_disposition(sig, libc::SIG_DFL);
        }
    }
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

    libc::execvp(argv[0], argv.as_ptr());

    let errno = *libc::__errno_location();
    let err = libc::strerror(errno);
    let err_len = if err.is_null() { 0 } else { libc::strlen(err) };
    let iov = [
        libc::iovec { iov_base: msg_prefix.as_ptr() as *mut libc::c_void, iov_len: msg_prefix.len() },
        libc::iovec { iov_base: err as *mut libc::c_void, iov_len: err_len },
        libc::iovec { iov_base: b"\n".as_ptr() as *mut libc::c_void, iov_len: 1 },
    ];
    libc::writev(libc::STDERR_FILENO, iov.as_ptr(), 3);
    libc::_exit(exec_failure_code(errno));
}

/// The init's loop: reap, wait for a signal, forward it.
unsafe fn supervise(child: libc::pid_t, blocked: &libc::sigset_t) -> i32 {
    let timeout = libc::timespec { tv_sec: 1, tv_nsec: 0 };
    loop {
        // Reap everything that has exited, the command and any orphan.
        let mut code = None;
        loop {
            let mut status: libc::c_int = 0;
            let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
            if pid <= 0 {
                break; // 0: children left, none exited; -1: ECHILD (or EINTR)
            }
            if pid == child {
                code = Some(status_code(status));
            }
        }
        if let Some(code) = code {
            return code;
        }

        let mut info: libc::siginfo_t = std::mem::zeroed();
        let sig = libc::sigtimedwait(blocked, &mut info, &timeout);
        if sig <= 0 || sig == libc::SIGCHLD {
            continue; // timeout or EINTR: reap anyway
        }
        // ESRCH (the command is already gone, not yet reaped) is harmless.
        libc::kill(child, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::path::Path;
    use std::time::{Duration, Instant};

    /// A forked process running `init_main(args)`, stdin from /dev/null and
    /// stderr to `stderr` if given.
    struct Init {
        pid: libc::pid_t,
    }

    impl Init {
        fn start(args: &[&str], stderr: Option<&Path>) -> Init {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            let devnull = CString::new("/dev/null").unwrap();
            let errpath = stderr.map(|p| CString::new(p.as_os_str().as_bytes()).unwrap());
            unsafe {
                let pid = libc::fork();
                assert!(pid >= 0, "fork failed");
                if pid == 0 {
                    // Only this thread exists in the child: init_main's
                    // single-thread requirement holds.
                    let fd = libc::open(devnull.as_ptr(), libc::O_RDONLY);
                    libc::dup2(fd, 0);
                    if let Some(e) = &errpath {
                        let fd = libc::open(e.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o644);
                        libc::dup2(fd, 2);
                    }
                    let code = init_main(args);
                    libc::_exit(code);
                }
                Init { pid }
            }
        }

        /// Wait for the init to exit; its raw wait status.
        fn wait(&self) -> libc::c_int {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let mut status = 0;
                let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
                if r == self.pid {
                    return status;
                }
                assert!(r == 0, "waitpid: {}", std::io::Error::last_os_error());
                if Instant::now() > deadline {
                    unsafe { libc::kill(self.pid, libc::SIGKILL) };
                    panic!("init did not exit in time");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }

        /// The init's own exit code (it must exit, not be killed).
        fn exit_code(&self) -> i32 {
            let st = self.wait();
            assert!(libc::WIFEXITED(st), "init was killed (status {st:#x})");
            libc::WEXITSTATUS(st)
        }

        fn signal(&self, sig: libc::c_int) {
            assert_eq!(unsafe { libc::kill(self.pid, sig) }, 0);
        }
    }

    fn run(args: &[&str]) -> i32 {
        Init::start(args, None).exit_code()
    }

    fn wait_for_file(p: &Path) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !p.exists() {
            assert!(Instant::now() < deadline, "{} never appeared", p.display());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn exit_code_passthrough() {
        assert_eq!(run(&["sh", "-c", "exit 7"]), 7);
        assert_eq!(run(&["true"]), 0);
        assert_eq!(run(&["false"]), 1);
        assert_eq!(run(&["/bin/sh", "-c", "exit 255"]), 255);
    }

    #[test]
    fn killed_by_signal_is_128_plus() {
        assert_eq!(run(&["sh", "-c", "kill -KILL $$"]), 137);
        assert_eq!(run(&["sh", "-c", "kill -TERM $$"]), 143);
    }

    #[test]
    fn child_signal_dispositions_are_reset() {
        // The test binary (like rcon) runs with SIGPIPE ignored; a shell
        // cannot undo an ignored-at-entry signal, so 141 proves the reset.
        assert_eq!(run(&["sh", "-c", "kill -PIPE $$; exit 3"]), 141);
        // And the mask: a blocked SIGTERM would leave the shell running.
        assert_eq!(run(&["sh", "-c", "kill -TERM $$; exit 3"]), 143);
    }

    #[test]
    fn forwards_signals_to_a_trapping_child() {
        let d = TempDir::new("trap");
        let ready = d.0.join("ready");
        let script = format!(
            "trap 'exit 42' TERM; trap 'echo usr1 >> {out}' USR1; echo $$ > {r}.tmp; mv {r}.tmp {r}; \
             while :; do sleep 0.05; done",
            out = d.0.join("usr1").display(),
            r = ready.display()
        );
        let init = Init::start(&["sh", "-c", &script], None);
        wait_for_file(&ready);
        let child: i32 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
        let state = || {
            let s = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap();
            s[s.rfind(')').unwrap() + 2..].chars().next().unwrap()
        };
        let wait_state = |want: char| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while state() != want {
                assert!(Instant::now() < deadline, "child never got to state {want}");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        init.signal(libc::SIGUSR1);
        wait_for_file(&d.0.join("usr1"));
        init.signal(libc::SIGWINCH); // ignored by default: nothing happens
                                     // Job control is forwarded, not acted on by the init itself.
        init.signal(libc::SIGTSTP);
        wait_state('T');
        init.signal(libc::SIGCONT);
        std::thread::sleep(Duration::from_millis(100));
        assert_ne!(state(), 'T');
        init.signal(libc::SIGTERM);
        assert_eq!(init.exit_code(), 42);
    }

    #[test]
    fn forwarded_signal_kills_a_child_without_trap() {
        for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130), (libc::SIGHUP, 129), (libc::SIGUSR2, 140)] {
            let d = TempDir::new("kill");
            let ready = d.0.join("ready");
            let script = format!("touch {}; exec sleep 30", ready.display());
            let init = Init::start(&["sh", "-c", &script], None);
            wait_for_file(&ready);
            std::thread::sleep(Duration::from_millis(50)); // let `exec sleep` happen
            init.signal(sig);
            assert_eq!(init.exit_code(), code, "signal {sig}");
        }
    }

    #[test]
    fn reaps_orphaned_grandchildren() {
        let d = TempDir::new("reap");
        let ppid_file = d.0.join("orphan-ppid");
        // An intermediate shell starts background jobs and exits at once, so
        // they are orphaned: they must be re-parented to the init, and reaped
        // by it when they exit. The command then looks for zombies whose
        // parent is the init ($PPID) and exits with their number.
        let script = format!(
            r#"
            sh -c 'sleep 0.1 & sleep 0.1 & sleep 0.1 & (sleep 0.2; read -r a b c pp rest < /proc/self/stat; echo $pp > "$1") &' x {ppid}
            sleep 0.8
            [ "$(cat {ppid})" = "$PPID" ] || exit 90
            n=0
            for s in /proc/[0-9]*/status; do
                if grep -qs '^State:[[:space:]]*Z' "$s" && grep -qs "^PPid:[[:space:]]*$PPID\$" "$s"; then n=$((n+1)); fi
            done
            exit $n
            "#,
            ppid = ppid_file.display()
        );
        let init = Init::start(&["sh", "-c", &script], None);
        let pid = init.pid;
        assert_eq!(init.exit_code(), 0, "orphans not re-parented (90) or zombies left (n)");
        assert_eq!(std::fs::read_to_string(&ppid_file).unwrap().trim(), pid.to_string());
    }

    #[test]
    fn reaps_zombies_while_the_command_runs() {
        // Orphans that exit while the command keeps running do not pile up.
        let script = r#"
            for i in 1 2 3 4 5; do sh -c 'sleep 0.05 &'; done
            sleep 0.6
            n=0
            for s in /proc/[0-9]*/status; do
                if grep -qs '^State:[[:space:]]*Z' "$s" && grep -qs "^PPid:[[:space:]]*$PPID\$" "$s"; then n=$((n+1)); fi
            done
            exit $n
        "#;
        assert_eq!(run(&["sh", "-c", script]), 0);
    }

    #[test]
    fn exec_failures() {
        let d = TempDir::new("exec");
        let err = d.0.join("stderr");

        let init = Init::start(&["/nonexistent/command"], Some(&err));
        assert_eq!(init.exit_code(), 127);
        assert_eq!(
            std::fs::read_to_string(&err).unwrap(),
            "rcon-init: exec /nonexistent/command failed: No such file or directory\n"
        );

        let init = Init::start(&["no-such-command-in-path-xyz"], Some(&err));
        assert_eq!(init.exit_code(), 127);

        // Not executable.
        let file = d.0.join("script.sh");
        std::fs::write(&file, "#!/bin/sh\nexit 0\n").unwrap();
        let init = Init::start(&[file.to_str().unwrap()], Some(&err));
        assert_eq!(init.exit_code(), 126);
        assert_eq!(
            std::fs::read_to_string(&err).unwrap(),
            format!("rcon-init: exec {} failed: Permission denied\n", file.display())
        );

        // A directory.
        let init = Init::start(&[d.0.to_str().unwrap()], Some(&err));
        assert_eq!(init.exit_code(), 126);

        assert_eq!(exec_failure_code(libc::ENOEXEC), 126);
        assert_eq!(exec_failure_code(libc::EACCES), 126);
        assert_eq!(exec_failure_code(libc::ENOENT), 127);
    }

    #[test]
    fn no_command() {
        assert_eq!(init_main(Vec::new()), 1);
    }
}
