// The types of the files a run writes are part of the stages' API: whoever imports Pipeline
// reads and writes them too.
@_exported import RunFiles
