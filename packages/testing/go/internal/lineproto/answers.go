package lineproto

import (
	"errors"
	"sort"
	"time"
)

// The answer shapes packages/testing/DRIVER-PROTOCOL.md gives the ops, shared by both drivers so
// they cannot drift apart.

// Produced is one element of produce's answer.
type Produced struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// TopicPartition is one partition of an assignment.
type TopicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// CommittedOffset is one element of groupOffsets' answer.
type CommittedOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// ListedGroup is one element of listGroups' answer; State and Type are null when not known.
type ListedGroup struct {
	GroupID string  `json:"groupId"`
	State   *string `json:"state"`
	Type    *string `json:"type"`
}

// DescribedMember is one member of describeGroup's answer.
type DescribedMember struct {
	MemberID   string           `json:"memberId"`
	ClientID   string           `json:"clientId"`
	Assignment []TopicPartition `json:"assignment"`
}

// DescribedGroup is describeGroup's answer.
type DescribedGroup struct {
	GroupID string            `json:"groupId"`
	State   string            `json:"state"`
	Members []DescribedMember `json:"members"`
}

// Polled is poll's answer: the records taken and the member's assignment afterwards.
type Polled struct {
	Records    []Record         `json:"records"`
	Assignment []TopicPartition `json:"assignment"`
}

// Optional sends an empty string as null.
func Optional(text string) *string {
	if text == "" {
		return nil
	}
	return &text
}

// SortPartitions orders by topic, then partition, so answers do not depend on map order.
func SortPartitions(list []TopicPartition) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Topic != list[j].Topic {
			return list[i].Topic < list[j].Topic
		}
		return list[i].Partition < list[j].Partition
	})
}

// SortOffsets orders by topic, then partition, so answers do not depend on map order.
func SortOffsets(list []CommittedOffset) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Topic != list[j].Topic {
			return list[i].Topic < list[j].Topic
		}
		return list[i].Partition < list[j].Partition
	})
}

// CollectWindow is how long a collecting op may run: the command's bound less a little left for
// answering before timeoutMs.
func (c *Command) CollectWindow() time.Duration {
	return c.Timeout() - min(c.Timeout()/10, 2*time.Second)
}

// DecodedHeader is a record header with its value decoded.
type DecodedHeader struct {
	Name  string
	Value []byte
}

// Decoded is a record to produce with its base64 fields decoded; nil stays nil (null).
type Decoded struct {
	Partition  int32
	Key, Value []byte
	Headers    []DecodedHeader
	Timestamp  *time.Time
}

// Decode decodes a record to produce.
func (r *Record) Decode() (Decoded, error) {
	decoded := Decoded{Partition: r.Partition}
	var err error
	if decoded.Key, err = Bytes(r.Key); err != nil {
		return Decoded{}, err
	}
	if decoded.Value, err = Bytes(r.Value); err != nil {
		return Decoded{}, err
	}
	for _, h := range r.Headers {
		if h[0] == nil {
			return Decoded{}, errors.New("header without a name")
		}
		value, err := Bytes(h[1])
		if err != nil {
			return Decoded{}, err
		}
		decoded.Headers = append(decoded.Headers, DecodedHeader{*h[0], value})
	}
	if r.Timestamp != nil {
		timestamp := time.UnixMilli(*r.Timestamp)
		decoded.Timestamp = &timestamp
	}
	return decoded, nil
}

// Consumed builds the answer for a consumed record; add headers with AddHeader.
func Consumed(partition int32, offset int64, key, value []byte, timestamp time.Time) Record {
	return Record{
		Partition: partition,
		Offset:    Int64(offset),
		Key:       Text(key),
		Value:     Text(value),
		Headers:   []Header{},
		Timestamp: Int64(timestamp.UnixMilli()),
	}
}

// AddHeader appends a consumed record's header.
func (r *Record) AddHeader(name string, value []byte) {
	r.Headers = append(r.Headers, Header{&name, Text(value)})
}
