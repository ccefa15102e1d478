package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"
)

// The demo's sample database: a small shop.
const shopDB = "shop"

// shopTables are the demo's tables, in creation order.
var shopTables = []string{"customers", "products", "orders"}

// shopSchema creates the shop's tables if they are missing.
var shopSchema = []string{
	"CREATE DATABASE IF NOT EXISTS " + shopDB + " CHARACTER SET utf8mb4",
	`CREATE TABLE IF NOT EXISTS ` + shopDB + `.customers (
		id INT AUTO_INCREMENT PRIMARY KEY,
		name VARCHAR(100) NOT NULL,
		email VARCHAR(200) NOT NULL,
		city VARCHAR(60),
		created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
		updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
	) ENGINE=InnoDB`,
	`CREATE TABLE IF NOT EXISTS ` + shopDB + `.products (
		id INT AUTO_INCREMENT PRIMARY KEY,
		sku VARCHAR(20) NOT NULL UNIQUE,
		name VARCHAR(100) NOT NULL,
		price DECIMAL(10,2) NOT NULL,
		stock INT NOT NULL,
		updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
	) ENGINE=InnoDB`,
	`CREATE TABLE IF NOT EXISTS ` + shopDB + `.orders (
		id BIGINT AUTO_INCREMENT PRIMARY KEY,
		customer_id INT NOT NULL,
		product_id INT NOT NULL,
		quantity INT NOT NULL,
		amount DECIMAL(12,2) NOT NULL,
		status ENUM('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
		created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
		updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
		KEY (customer_id)
	) ENGINE=InnoDB`,
}

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger", "Radia", "John"}
	lastNames  = []string{"Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen", "Dijkstra", "Perlman", "Backus"}
	cities     = []string{"Lisbon", "Oslo", "Lyon", "Turin", "Ghent", "Kraków", "Malmö", "Zürich", "Sevilla", "Tallinn"}
	goods      = []string{"Mug", "Notebook", "Pencil", "Backpack", "Lamp", "Chair", "Kettle", "Scarf", "Umbrella", "Headphones"}
	adjectives = []string{"Blue", "Classic", "Tiny", "Sturdy", "Quiet", "Bright", "Folding", "Travel"}
	statuses   = []string{"new", "paid", "shipped", "cancelled"}
)

// shop writes the demo's sample data and its workload.
type shop struct {
	db  *sql.DB
	rnd *rand.Rand
	log *slog.Logger
	// done counts the workload's committed transactions.
	done atomic.Int64
}

func newShop(db *sql.DB, log *slog.Logger) *shop {
	return &shop{db: db, rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42)), log: log}
}

// setup creates the tables and, when the shop is empty, fills it with
// customers, products and orders (orders is the number of orders).
func (s *shop) setup(ctx context.Context, orders int) (seeded bool, err error) {
	for _, q := range shopSchema {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("create the sample schema: %w", err)
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+shopDB+".customers").Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	customers, products := max(orders/3, 10), max(orders/15, 10)
	if err := s.batch(ctx, "customers (name, email, city)", customers, func(i int) string {
		name := s.pick(firstNames) + " " + s.pick(lastNames)
		return fmt.Sprintf("(%s, %s, %s)", quote(name), quote(email(name, i)), quote(s.pick(cities)))
	}); err != nil {
		return false, err
	}
	if err := s.batch(ctx, "products (sku, name, price, stock)", products, func(i int) string {
		return fmt.Sprintf("('SKU-%05d', %s, %d.%02d, %d)", i+1, quote(s.pick(adjectives)+" "+s.pick(goods)),
			2+s.rnd.IntN(200), s.rnd.IntN(100), 50+s.rnd.IntN(500))
	}); err != nil {
		return false, err
	}
	if err := s.batch(ctx, "orders (customer_id, product_id, quantity, amount, status)", orders, func(int) string {
		q := 1 + s.rnd.IntN(4)
		return fmt.Sprintf("(%d, %d, %d, %d.%02d, '%s')", 1+s.rnd.IntN(customers), 1+s.rnd.IntN(products), q,
			q*(2+s.rnd.IntN(200)), s.rnd.IntN(100), s.pick(statuses))
	}); err != nil {
		return false, err
	}
	return true, nil
}

// batch inserts n rows into table, 500 per statement.
func (s *shop) batch(ctx context.Context, table string, n int, row func(i int) string) error {
	for start := 0; start < n; start += 500 {
		var rows []string
		for i := start; i < min(start+500, n); i++ {
			rows = append(rows, row(i))
		}
		if _, err := s.db.ExecContext(ctx, "INSERT INTO "+shopDB+"."+table+" VALUES "+strings.Join(rows, ",")); err != nil {
			return fmt.Errorf("fill %s: %w", table, err)
		}
	}
	return nil
}

// run writes transactions at rate per second until ctx ends: new orders
// (with the product's stock), order status changes, new and changed
// customers, price changes and deleted orders.
func (s *shop) run(ctx context.Context, rate int) {
	if rate <= 0 {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var lastWarn time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.transaction(ctx); err != nil && ctx.Err() == nil && time.Since(lastWarn) > 10*time.Second {
			s.log.Warn("demo workload transaction failed", "err", err)
			lastWarn = time.Now()
		} else if err == nil {
			s.done.Add(1)
		}
	}
}

// transaction writes one random transaction.
func (s *shop) transaction(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	// randomID returns an existing id of table near a random one.
	randomID := func(table string) (int64, error) {
		var hi sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MAX(id) FROM "+shopDB+"."+table).Scan(&hi); err != nil || !hi.Valid {
			return 0, errors.Join(err, errors.New("empty "+table))
		}
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM "+shopDB+"."+table+" WHERE id >= ? ORDER BY id LIMIT 1", 1+s.rnd.Int64N(hi.Int64)).Scan(&id)
		return id, err
	}
	switch p := s.rnd.IntN(100); {
	case p < 45: // a new order takes stock
		customer, err := randomID("customers")
		if err != nil {
			return err
		}
		product, err := randomID("products")
		if err != nil {
			return err
		}
		q := 1 + s.rnd.IntN(3)
		if err := exec("INSERT INTO "+shopDB+".orders (customer_id, product_id, quantity, amount) SELECT ?, id, ?, price * ? FROM "+shopDB+".products WHERE id = ?", customer, q, q, product); err != nil {
			return err
		}
		if err := exec("UPDATE "+shopDB+".products SET stock = IF(stock >= ?, stock - ?, stock + 500) WHERE id = ?", q, q, product); err != nil {
			return err
		}
	case p < 75: // an order moves on
		id, err := randomID("orders")
		if err != nil {
			return err
		}
		if err := exec("UPDATE "+shopDB+".orders SET status = ELT(1 + FLOOR(RAND() * 4), 'new', 'paid', 'shipped', 'cancelled') WHERE id = ?", id); err != nil {
			return err
		}
	case p < 85: // a new customer
		name := s.pick(firstNames) + " " + s.pick(lastNames)
		if err := exec("INSERT INTO "+shopDB+".customers (name, email, city) VALUES (?, ?, ?)", name, email(name, s.rnd.IntN(1e6)), s.pick(cities)); err != nil {
			return err
		}
	case p < 93: // a customer moves
		id, err := randomID("customers")
		if err != nil {
			return err
		}
		if err := exec("UPDATE "+shopDB+".customers SET city = ? WHERE id = ?", s.pick(cities), id); err != nil {
			return err
		}
	case p < 97: // a price changes
		id, err := randomID("products")
		if err != nil {
			return err
		}
		if err := exec("UPDATE "+shopDB+".products SET price = GREATEST(1, price * (0.9 + RAND() / 5)) WHERE id = ?", id); err != nil {
			return err
		}
	default: // an order is deleted
		id, err := randomID("orders")
		if err != nil {
			return err
		}
		if err := exec("DELETE FROM "+shopDB+".orders WHERE id = ?", id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// counts returns the row count of each shop table.
func (s *shop) counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range shopTables {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+shopDB+"."+t).Scan(&n); err != nil {
			return nil, err
		}
		out[shopDB+"."+t] = n
	}
	return out, nil
}

func (s *shop) pick(list []string) string { return list[s.rnd.IntN(len(list))] }

// email makes an address from a name.
func email(name string, n int) string {
	return strings.ToLower(strings.ReplaceAll(name, " ", ".")) + fmt.Sprintf("%d@example.com", n)
}

// quote quotes a string literal for MariaDB (the sample data has no
// backslashes).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
