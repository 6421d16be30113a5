import CommandOptions

runCommandLine(XTF.self)
