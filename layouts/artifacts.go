package layouts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/in-toto/in-toto-golang/in_toto"
	"github.com/shibumi/go-pathspec"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// artifactName turns a user-given path (relative to the step directory) into
// an artifact name. Absolute paths and paths with ".." are refused: an
// artifact name must say which file inside the step directory it is.
func artifactName(p string) (string, error) {
	s := filepath.ToSlash(p)
	if s == "" || filepath.IsAbs(p) || strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("artifact path %q: absolute paths are refused (give a path relative to the step directory)", p)
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return "", fmt.Errorf("artifact path %q: '..' is refused (artifact names must stay inside the step directory)", p)
		}
	}
	return path.Clean(s), nil
}

// recordArtifacts hashes (sha256) every regular file under the given paths,
// relative to dir, skipping names matched by the gitignore-style exclude
// patterns. Symbolic links to files are hashed by content; symbolic links to
// directories are not followed.
func recordArtifacts(dir string, paths, exclude []string) (map[string]in_toto.HashObj, error) {
	out := map[string]in_toto.HashObj{}
	for _, p := range paths {
		name, err := artifactName(p)
		if err != nil {
			return nil, err
		}
		root := filepath.Join(dir, filepath.FromSlash(name))
		err = filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, full)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if rel != "." {
				if ignore, err := excluded(exclude, rel); err != nil {
					return err
				} else if ignore {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
			}
			if d.IsDir() {
				return nil
			}
			mode := d.Type()
			if mode&fs.ModeSymlink != 0 {
				st, err := os.Stat(full)
				if err != nil {
					return fmt.Errorf("symbolic link %s: %w", rel, err)
				}
				if !st.Mode().IsRegular() {
					return nil
				}
			} else if !mode.IsRegular() {
				return nil
			}
			sum, err := hashFile(full)
			if err != nil {
				return err
			}
			if err := checkArtifactPath(rel); err != nil {
				return err
			}
			out[rel] = in_toto.HashObj{"sha256": sum}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("recording %s: %w", p, err)
		}
	}
	return out, nil
}

func excluded(patterns []string, rel string) (bool, error) {
	if len(patterns) == 0 {
		return false, nil
	}
	ok, err := pathspec.GitIgnore(patterns, rel)
	if err != nil {
		return false, fmt.Errorf("exclude patterns: %w", err)
	}
	return ok, nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
