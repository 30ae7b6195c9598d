/// An element of a `BigramHeap`: `precedes` is a strict weak order, first element first.
protocol HeapOrdered {
    func precedes(_ other: Self) -> Bool
}

/// A binary heap of merge candidates (BPE by rank, SPM by score), popped in `precedes` order.
struct BigramHeap<Item: HeapOrdered> {
    private var items: [Item] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ item: Item) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Item? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, items[l].precedes(items[best]) { best = l }
                if r < items.count, items[r].precedes(items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
