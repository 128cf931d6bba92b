//! The infra container's process: rcon's own pause program. It holds the
//! namespaces a pod's containers join and does nothing else, so no pause
//! image is pulled or stored (podman pulls or builds one with catatonit).
//! The monitor's clone child execs this binary again (`rcon __pause`)
//! without building a root file system: the program never opens a file,
//! and it runs with an empty capability bounding set and no_new_privs, so
//! its view of the host's file system gives it nothing to use.

use std::ffi::CString;

use super::spawn::ChildResult;

/// `rcon __pause`: wait for a stop signal, reaping any child that appears
/// (none should: nothing else runs in its pid namespace).
pub fn main() -> i32 {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT, libc::SIGCHLD] {
            libc::sigaddset(&mut set, s);
        }
        // As pid 1 of its pid namespace, a signal with the default action
        // would be ignored: wait for them explicitly instead.
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        loop {
            let mut sig = 0;
            if libc::sigwait(&set, &mut sig) != 0 {
                continue;
            }
            if sig == libc::SIGCHLD {
                while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
                continue;
            }
            return 0;
        }
    }
}

/// In the infra container's clone child: drop every capability, then exec
/// the pause program. `argv0` is what `pod top` and inspect show.
pub fn exec(program: &CString, argv0: &str, stdio: [i32; 3]) -> ChildResult {
    let fail =
        |what: &str| (125, format!("start the pod's pause program: {what}: {}", std::io::Error::last_os_error()));
    unsafe {
        for (i, fd) in stdio.iter().enumerate() {
            if libc::dup2(*fd, i as i32) < 0 {
                return Err(fail("dup2"));
            }
        }
        libc::setsid();
        // Root execing a program gains the bounding set as its permitted
        // set: empty it, and forbid gaining anything back.
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .unwrap_or(40);
        for cap in 0..=last {
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(fail("no_new_privs"));
        }
        if libc::chdir(c"/".as_ptr()) != 0 {
            return Err(fail("chdir"));
        }
        let a0 = CString::new(argv0).unwrap_or_else(|_| c"rcon-pause".to_owned());
        let argv = [a0.as_ptr(), c"__pause".as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null()];
        libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    Err(fail("exec"))
}
