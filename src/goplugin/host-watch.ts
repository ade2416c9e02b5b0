/**
 * Exit when the host (SPIRE) is gone. go-plugin hosts normally unload a plugin with
 * Controller.Shutdown and SIGKILL it 2 s later; SPIRE additionally sets Pdeathsig=SIGKILL on
 * Linux. Neither helps when the host dies abruptly on a system without Pdeathsig (or when a
 * wrapper such as a shell sits in between): the plugin would linger forever, holding its
 * socket and AWS credentials. Two independent signals, each enough on its own:
 *
 * - the parent process changes (we were re-parented to init or a subreaper): polled, since
 *   Node has no prctl(PR_SET_PDEATHSIG);
 * - the host's broker stream (go-plugin opens it right after connecting and keeps it for the
 *   plugin's lifetime) ends, and then neither a Shutdown nor any other call from the host
 *   arrives within a grace period. go-plugin's Kill() closes the broker *before* calling
 *   Shutdown, so the grace must cover that gap; and a host that is still calling us is alive
 *   whatever happened to its broker stream (a soak through a host that opens a connection
 *   per call showed the stream can end while the host is well), so any call re-arms the wait.
 */

/** How often the parent pid is checked. A timer per second is negligible. */
export const PARENT_POLL_MS = 1000;
/** After the broker stream ends: how long to wait for the Shutdown a live host would send. */
export const BROKER_CLOSE_GRACE_MS = 5000;

export interface HostWatchOptions {
  /** Called once when the host is judged gone (normally: shutdown(reason)). */
  onHostGone(reason: string): void;
  /** For tests: the parent pid source (default process.ppid, read live). */
  ppid?: () => number;
  parentPollMs?: number;
  brokerCloseGraceMs?: number;
}

export interface HostWatch {
  /** The broker stream from the host ended (end, cancel or error); `how` goes in the log. */
  brokerClosed(how: string): void;
  /** The host made a call: it is alive. */
  activity(): void;
  /** The host asked for Shutdown, or we are exiting anyway: stop watching. */
  stop(): void;
}

export function watchHost(options: HostWatchOptions): HostWatch {
  const ppid = options.ppid ?? ((): number => process.ppid);
  const initial = ppid();
  let stopped = false;
  let brokerTimer: NodeJS.Timeout | undefined;
  let brokerClosedHow: string | undefined;
  let sawActivity = false;
  const grace = options.brokerCloseGraceMs ?? BROKER_CLOSE_GRACE_MS;

  const armBrokerTimer = (): void => {
    sawActivity = false;
    brokerTimer = setTimeout(() => {
      if (sawActivity) {
        armBrokerTimer();
        return;
      }
      gone(
        `the host closed its broker stream (${brokerClosedHow}) and made no call since, not even Shutdown`,
      );
    }, grace);
    brokerTimer.unref();
  };

  const gone = (reason: string): void => {
    if (stopped) return;
    stop();
    options.onHostGone(reason);
  };

  // A plugin started directly by init (ppid 1) has no host to outlive; only a change counts.
  const poll = setInterval(() => {
    const now = ppid();
    if (now !== initial) gone(`host process ${initial} exited (parent is now ${now})`);
  }, options.parentPollMs ?? PARENT_POLL_MS);
  // Never keeps the process alive by itself.
  poll.unref();

  function stop(): void {
    stopped = true;
    clearInterval(poll);
    if (brokerTimer !== undefined) clearTimeout(brokerTimer);
  }

  return {
    brokerClosed(how: string): void {
      if (stopped || brokerTimer !== undefined) return;
      brokerClosedHow = how;
      armBrokerTimer();
    },
    activity(): void {
      sawActivity = true;
    },
    stop,
  };
}
