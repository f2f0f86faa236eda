import AttentionIO
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM: remove the temporary files being written (`TemporaryFiles`), then die of
/// the signal as before (exit status 128 + signal). Installed once by the executable, before
/// any other thread starts: the two signals are blocked in every thread and one thread waits
/// for them with sigwait(3), so the cleanup runs as ordinary code even while every worker
/// thread is busy.
enum SignalCleanup {
  static func install() {
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGINT)
    sigaddset(&signals, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    let waited = signals
    let thread = Thread {
      var set = waited
      var number: Int32 = 0
      guard sigwait(&set, &number) == 0 else { return }
      TemporaryFiles.shared.removeAll()
      signal(number, SIG_DFL)
      var only = sigset_t()
      sigemptyset(&only)
      sigaddset(&only, number)
      pthread_sigmask(SIG_UNBLOCK, &only, nil)
      raise(number)
    }
    thread.start()
  }
}

extension CommandLineTool {
  /// Makes SIGINT and SIGTERM remove temporary files before the process ends (the executable
  /// calls this once; tests do not).
  public static func installSignalCleanup() { SignalCleanup.install() }
}
