// Package signer is the release pipeline of CNAB-Sec 301/302: it signs bundle
// and image versions into a TUF repository (the releases role when the
// repository delegates the name to it, else targets), publishes their in-toto
// link files under NAME/in-toto-metadata/<sha256>/, and publishes root layouts
// and their keys under the offline top-level targets role.
package signer
