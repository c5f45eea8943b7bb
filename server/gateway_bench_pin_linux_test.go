package server

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ownCorePin pins the parties of BenchmarkGatewayVsRegistry's own-core
// configuration: the client (this process) and the registry to one CPU, the
// gateway to another, and gives each back the affinity this process had at
// the start.
type ownCorePin struct {
	all                   unix.CPUSet
	clientCPU, gatewayCPU int
}

// newOwnCorePin takes the first two CPUs this process may run on; it says
// why when there are fewer.
func newOwnCorePin() (*ownCorePin, error) {
	p := &ownCorePin{}
	if err := unix.SchedGetaffinity(0, &p.all); err != nil {
		return nil, fmt.Errorf("reading this process's CPU affinity: %w", err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < 2; c++ {
		if p.all.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return nil, fmt.Errorf("this process may run on %d CPU; the own-core configuration needs 2", p.all.Count())
	}
	p.clientCPU, p.gatewayCPU = cpus[0], cpus[1]
	return p, nil
}

// String names the CPUs of each party.
func (p *ownCorePin) String() string {
	return fmt.Sprintf("client and registry on CPU %d, gateway on CPU %d", p.clientCPU, p.gatewayCPU)
}

// pin pins this process and the registry to the client's CPU and the
// gateway to its own.
func (p *ownCorePin) pin(registry, gateway int) error {
	if err := setProcessAffinity(os.Getpid(), oneCPU(p.clientCPU)); err != nil {
		return err
	}
	if err := setProcessAffinity(registry, oneCPU(p.clientCPU)); err != nil {
		return err
	}
	return setProcessAffinity(gateway, oneCPU(p.gatewayCPU))
}

// restore gives this process and the children the affinity this process
// had at the start.
func (p *ownCorePin) restore(registry, gateway int) error {
	for _, pid := range []int{os.Getpid(), registry, gateway} {
		if err := setProcessAffinity(pid, p.all); err != nil {
			return err
		}
	}
	return nil
}

// setProcessAffinity sets the CPU affinity of every thread of process pid
// (os.Getpid() for this one) to set, passing over /proc/PID/task until a
// pass finds no thread it has not set: a thread created later is created by
// one already set, and Linux gives it its creator's affinity. It then checks
// that every thread has set.
func setProcessAffinity(pid int, set unix.CPUSet) error {
	done := map[int]bool{}
	for {
		tids, err := processThreads(pid)
		if err != nil {
			return err
		}
		n := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("setting the CPU affinity of thread %d of process %d: %w", tid, pid, err)
			}
			done[tid], n = true, n+1
		}
		if n == 0 {
			return checkProcessAffinity(pid, set)
		}
	}
}

// checkProcessAffinity fails unless every thread of pid has affinity set.
func checkProcessAffinity(pid int, set unix.CPUSet) error {
	tids, err := processThreads(pid)
	if err != nil {
		return err
	}
	for _, tid := range tids {
		var got unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &got); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue // the thread ended
			}
			return err
		}
		if got != set {
			return fmt.Errorf("thread %d of process %d kept another CPU affinity", tid, pid)
		}
	}
	return nil
}

// processThreads lists the thread ids of process pid.
func processThreads(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil, fmt.Errorf("listing the threads of process %d: %w", pid, err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// oneCPU is the set holding only cpu.
func oneCPU(cpu int) unix.CPUSet {
	var s unix.CPUSet
	s.Set(cpu)
	return s
}
