// Command elfstatic exits non-zero unless every file it is given is a
// static ELF executable: no program interpreter (PT_INTERP) and no dynamic
// segment. .ci/run uses it on the release builds; it reads the ELF with
// debug/elf, so the check cannot pass by a tool being absent (readelf
// missing made the old check pass).
package main

import (
	"debug/elf"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: elfstatic FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s: static\n", path)
	}
}

// check returns why path is not a static ELF executable, or nil.
func check(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("%s is %v, not a static executable", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("%s is dynamically linked (it has %v)", path, p.Type)
		}
	}
	return nil
}
