import ArgumentParser
import CommandOptions

/// `xtf-testbench`: the commands the multi-rank tests launch under mpirun (through
/// scripts/xtf-mpirun with XTF_BIN pointing here). Each rank records what it computed; the
/// test, not the command, decides whether that is right. Not part of the shipped `xtf`.
struct Testbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xtf-testbench",
        abstract: "Commands the test suite runs under mpirun: collectives, a work queue, gradients, a stand-in pipeline, killed runs.",
        subcommands: [CollectivesSelfTest.self, WorkQueueSelfTest.self, GradientReducerSelfTest.self, PipelineSelfTest.self,
                      KilledScore.self, ObservedTrain.self])
}

runCommandLine(Testbench.self)
