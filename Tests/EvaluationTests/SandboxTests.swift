import Evaluation
import Foundation
import TestSupport
import XCTest

/// The HumanEval sandbox against what a hostile `test` field did to the old runner (issue #21):
/// each program below exits 0 only if its escape worked, so each must fail; and the host is
/// checked for what the program tried to leave behind.
final class SandboxTests: XCTestCase {
    var sandbox = CodeSandbox(kind: .bubblewrap)

    override func setUpWithError() throws {
        if let problem = CodeSandbox.bubblewrapProblem {
            let message = "SKIP: no bubblewrap sandbox here (\(problem)); scripts/test.sh installs bubblewrap"
            print("*** \(message) ***")
            if ProcessInfo.processInfo.environment["CI"] != nil {
                throw NSError(domain: "SandboxTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "under CI: \(message)"])
            }
            throw XCTSkip(message)
        }
    }

    /// Each run's label (in its processes' environment), to find what it left running.
    var label = UUID().uuidString

    func outcome(_ program: String, timeout: Double = 10) throws -> CodeSandbox.Outcome {
        label = UUID().uuidString
        return try sandbox.runPython(program, timeout: timeout, label: label)
    }

    func testTheSandboxRunsOrdinaryCode() throws {
        XCTAssertEqual(try outcome("import json, math, re, collections\nassert math.isqrt(17) == 4\nopen('/tmp/scratch.txt', 'w').write('x')\n"), .passed,
                       "the standard library imports and /tmp is writable")
        XCTAssertEqual(try outcome("open('/sandbox/scratch.txt', 'w').write('x')\n"), .failed, "the program's folder is read-only")
        XCTAssertEqual(try outcome("open('/tmp/big', 'wb').write(b'x' * (64 << 20))\n"), .failed, "/tmp is small")
    }

    func testFilesOutsideItsFolderCannotBeWrittenOrRead() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-escape-\(UUID().uuidString)")
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        // Writes: the host's /tmp (the sandbox's is its own), the user's home, this repository.
        // The sandbox's /tmp is its own: the write succeeds there and nothing appears on the host.
        _ = try outcome("open('\(marker.path)', 'w').write('x')\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path), "a file appeared in the host's /tmp")
        for path in ["\(home)/xtf-escape", TestPaths.packageRoot.appendingPathComponent("xtf-escape").path] {
            XCTAssertEqual(try outcome("open('\(path)', 'w').write('x')\n"), .failed, path)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), path)
        }
        // Reads: no /etc, no home, no repository; each file is readable unsandboxed (the control).
        let ownFile = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".xtf-sandbox-test-\(UUID().uuidString)")
        try "x".write(to: ownFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: ownFile) }
        for path in ["/etc/passwd", ownFile.path, TestPaths.packageRoot.appendingPathComponent("Package.swift").path] {
            XCTAssertEqual(try CodeSandbox(kind: .none).runPython("open('\(path)').read()\n", timeout: 10), .passed, "the control reads \(path)")
            XCTAssertEqual(try outcome("open('\(path)').read()\n"), .failed, path)
        }
    }

    func testNoNetworkAndNoHostSockets() throws {
        // A Unix socket listening on the host, in the host's /tmp and in the abstract namespace.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-sock-\(UUID().uuidString.prefix(8))").path
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        listener.arguments = ["-c", """
            import socket, time
            a = socket.socket(socket.AF_UNIX); a.bind('\(path)'); a.listen()
            b = socket.socket(socket.AF_UNIX); b.bind('\\0xtf-sandbox-test'); b.listen()
            c = socket.socket(); c.bind(('127.0.0.1', 0)); c.listen(); open('\(path).port', 'w').write(str(c.getsockname()[1]))
            time.sleep(60)
            """]
        try listener.run()
        defer { listener.terminate(); try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: path + ".port") }
        var port: String?
        for _ in 0..<100 where port == nil { port = try? String(contentsOfFile: path + ".port", encoding: .utf8); usleep(50_000) }
        let tcp = try XCTUnwrap(port, "the host listener did not start")
        // The same programs reach the listeners from outside the sandbox (the control).
        let programs = [
            "import socket\ns = socket.socket(socket.AF_UNIX); s.connect('\(path)')\n",
            "import socket\ns = socket.socket(socket.AF_UNIX); s.connect('\\0xtf-sandbox-test')\n",
            "import socket\ns = socket.socket(); s.settimeout(3); s.connect(('127.0.0.1', \(tcp)))\n",
        ]
        for program in programs {
            XCTAssertEqual(try CodeSandbox(kind: .none).runPython(program, timeout: 10), .passed, "the control reaches it: \(program)")
            XCTAssertEqual(try outcome(program), .failed, program)
        }
    }

    func testItRunsAsAnUnprivilegedUser() throws {
        XCTAssertEqual(try outcome("import os\nassert os.getuid() != 0 and os.geteuid() != 0\n"), .passed)
    }

    func testTheTimeoutKillsOrphansInOtherSessions() throws {
        // The finder sees a sandboxed process while it runs (else the checks below prove nothing).
        let running = UUID().uuidString, sandbox = self.sandbox
        let done = expectation(description: "the sleeper ends")
        DispatchQueue.global().async {
            _ = try? sandbox.runPython("import time\ntime.sleep(3)\n", timeout: 20, label: running)
            done.fulfill()
        }
        var seen = 0
        for _ in 0..<100 where seen == 0 { seen = Self.processes(labelled: running, waitingForNone: false); usleep(50_000) }
        XCTAssertGreaterThan(seen, 0, "a running sandboxed process is found by its label")
        wait(for: [done], timeout: 30)

        // A grandchild in a session of its own keeps running after its parent exits or is killed.
        let orphan = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n    os._exit(0)\n"
        let start = Date()
        XCTAssertEqual(try outcome(orphan + "time.sleep(60)\n", timeout: 1), .timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the timeout holds with an orphan (not its 60 s)")
        XCTAssertEqual(Self.processes(labelled: label), 0, "processes of the sandbox outlived it")
        // A program that exits at once leaves its orphan behind: it must die with the sandbox too.
        XCTAssertEqual(try outcome(orphan, timeout: 10), .passed)
        XCTAssertEqual(Self.processes(labelled: label), 0, "processes of the sandbox outlived it")
    }

    func testForkAndMemoryBombsAreContained() throws {
        let start = Date()
        // It never ends by itself: the timeout ends it, with every process it made.
        XCTAssertEqual(try outcome("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", timeout: 5), .timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "the timeout holds")
        XCTAssertEqual(Self.processes(labelled: label), 0, "the fork bomb's processes outlived the sandbox")
        XCTAssertEqual(try outcome("x = bytearray(8 << 30)\n"), .failed, "8 GiB is past the address-space limit")
        XCTAssertEqual(try outcome("open('/dev/shm/big', 'wb').write(b'x' * (200 << 20))\n"), .failed, "200 MiB is past the file-size limit")
        // Many files each under the size limit: the in-memory folders are bounded in total.
        for folder in ["/tmp", "/dev/shm"] {
            XCTAssertEqual(try outcome("for i in range(8):\n    open(f'\(folder)/f{i}', 'wb').write(b'x' * (8 << 20))\n"), .failed, folder)
        }
    }

    func testHumanEvalRunsTheGeneratedCodeInTheSandbox() throws {
        let model = try Fixtures.tinyGPT2()
        let out = try TestPaths.scratchDirectory("humaneval-sandbox").appendingPathComponent("eval.json")
        let result = try MPIRunner.run(ranks: 2, ["eval", "--model", model.path, "--task", "humaneval", "--data",
                                                  try TestPaths.sharedFile("data/humaneval/HumanEval.jsonl.gz").path,
                                                  "--limit", "2", "--max-new-tokens", "4", "--out", out.path], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
        let eval = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        XCTAssertEqual(eval["sandbox"] as? String, "bubblewrap")
    }

    /// Processes still running whose environment carries the run's label (the kernel reaps a
    /// killed namespace's processes at once; allow it a moment on a busy machine).
    static func processes(labelled label: String, waitingForNone: Bool = true) -> Int {
        var count = 0
        for _ in 0..<(waitingForNone ? 50 : 1) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            count = entries.filter { $0.allSatisfy(\.isNumber) }.filter { pid in
                guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
                return String(decoding: environment, as: UTF8.self).contains("XTF_SANDBOX_RUN=\(label)")
            }.count
            if count == 0 { return 0 }
            usleep(100_000)
        }
        return count
    }
}
